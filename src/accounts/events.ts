/**
 * Domain events of accounts. The account service publishes them through an AccountEventSink; the
 * client gateway subscribes (via the bus) and acts: kick sessions (block with needkick, token update
 * or refresh, admin kick), reject logins (302 / 422) and sends (423) from fresh state.
 */
export type AccountEvent =
  | { type: 'blocked'; appKey: string; accid: string; kick: boolean; kickNotifyExt?: string | undefined }
  | { type: 'unblocked'; appKey: string; accid: string }
  | { type: 'tokenChanged'; appKey: string; accid: string; reason: 'update' | 'refresh' }
  | {
      type: 'kick';
      appKey: string;
      accid: string;
      /** v2 kick: 1 all devices, 2 only `deviceIds`, 3 all but `deviceIds`. */
      mode: 1 | 2 | 3;
      deviceIds?: string[] | undefined;
      kickNotifyExt?: string | undefined;
    }
  | {
      type: 'muteChanged';
      appKey: string;
      accid: string;
      mute: boolean;
      muteP2P: boolean;
      muteTeam: boolean;
      muteRoom: boolean;
      muteQChat: boolean;
    };

export interface AccountEventSink {
  publish(event: AccountEvent): Promise<void>;
}

/** A sink that drops events (tools that run without a gateway, such as CLI import). */
export const NO_EVENTS: AccountEventSink = { publish: async () => {} };
