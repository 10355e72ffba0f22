/**
 * The two framings against the captured frames of spec/client-protocol-vectors.md (§C, §E B1, B3),
 * plus round trips of every field type and hostile input.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  decodeBinaryBody,
  decodeBinaryRequest,
  decodeHeader,
  encodeBinary,
  encodeBinaryRequest,
} from '../../src/gateway/framing/binary.js';
import { decodeJsonRequest, encodeJson, parseSocketIoFrame } from '../../src/gateway/framing/json.js';
import { Gateway } from '../../src/gateway/hub.js';
import { FIELD_TYPES, type FieldType, FrameError } from '../../src/gateway/packet.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// The real command table, without services: only its layouts are used here.
const table = new Gateway({} as never).table;

const V = {
  loginRequest: `0002030100001103023136040c4c696e75782036342d626974060539323131320801310901310d203737323237613362
6330646338316333376365386237666431323335353939641220746573746170706b6579303030303030303030303030
303030303030303030301305616c69636518104368726f6d65203135352e302e302e301a206365353333303763383565
61373135383739323061383030376232396637346426002807392e32312e313229033130302a6d4d6f7a696c6c612f35
2e3020285831313b204c696e7578207838365f363429204170706c655765624b69742f3533372e333620284b48544d4c
2c206c696b65204765636b6f2920486561646c6573734368726f6d652f3135352e302e302e30205361666172692f3533
372e33362c0742524f57534552700130e80704746f6b41`,
  loginReply: `000203010002c800051100661063325f3137393536333932383238333167093132372e302e302e316804343332316d0d
313739353633393238323833330000`,
  nosRequest: '00061a020000',
  nosReplyEmpty: '00061a020002c800',
  syncRequest: `000501030000150101300201300301300601300701300901300b01300d01300e01300f01301001301101301501301601
301701301801301901301b01301d01301e01301f0130`,
  syncReply: '000501030002c8009f0c7114a2010000',
  sendRequest: `000701070000070001300103626f62080130091568692066726f6d2062726f7773657220616c6963650b206663363664
3934303864366635373436643131346336636230313136383064370d01301c0131`,
  sendReply: `000701070002c8000c0001300103626f620205616c696365040231360520373732323761336263306463383163333763
6538623766643132333535393964070d31373935363339323832393137080130091568692066726f6d2062726f777365
7220616c6963650b2066633636643934303864366635373436643131346336636230313136383064370c04313030310d
01301c0131`,
  push72: `000702000002c8000c0001300103626f620205616c696365040231360520373732323761336263306463383163333763
6538623766643132333535393964070d31373935363339323832393137080130091568692066726f6d2062726f777365
7220616c6963650b2066633636643934303864366635373436643131346336636230313136383064370c04313030310d
01301c0131`,
  getUsers: '0003070800000105616c696365',
  ack: '000405090000070201e903000000000000',
  logout: '0002060a0000',
  loginError302: '000203010002 2e01',
};

const sentMessage = {
  '0': '0',
  '1': 'bob',
  '2': 'alice',
  '4': '16',
  '5': '77227a3bc0dc81c37ce8b7fd1235599d',
  '7': '1795639282917',
  '8': '0',
  '9': 'hi from browser alice',
  '11': 'fc66d9408d6f5746d114c6cb011680d7',
  '12': '1001',
  '13': '0',
  '28': '1',
};

describe('binary framing: captured frames (vectors §E B1)', () => {
  it('decodes the v9 browser login request', () => {
    const r = decodeBinaryRequest(hex(V.loginRequest), table.layoutOf);
    assert.deepEqual([r.sid, r.cid, r.ser], [2, 3, 1]);
    const p = r.params[0] as Record<string, string>;
    assert.equal(Object.keys(p).length, 17);
    assert.equal(p['3'], '16');
    assert.equal(p['19'], 'alice');
    assert.equal(p['18'], 'testappkey0000000000000000000000');
    assert.equal(p['26'], 'ce53307c85ea71587920a8007b29f74d');
    assert.equal(p['44'], 'BROWSER');
    assert.equal(p['1000'], 'tokA');
  });

  it('encodes the login reply byte for byte', () => {
    const body = [
      { '17': '', '102': 'c2_1795639282831', '103': '127.0.0.1', '104': '4321', '109': '1795639282833' },
      [],
      {},
    ];
    const out = encodeBinary({ sid: 2, cid: 3, ser: 1, code: 200, body }, table.resultOf(2, 3, false));
    assert.equal(toHex(out), toHex(hex(V.loginReply)));
  });

  it('encodes a login error as the bare header with the code (vectors B3)', () => {
    const out = encodeBinary({ sid: 2, cid: 3, ser: 1, code: 302, body: [] }, table.resultOf(2, 3, false));
    assert.equal(toHex(out), toHex(hex(V.loginError302)));
  });

  it('decodes bodiless requests and encodes an empty 200 reply', () => {
    const r = decodeBinaryRequest(hex(V.nosRequest), table.layoutOf);
    assert.deepEqual(r, { sid: 6, cid: 26, ser: 2, params: [] });
    assert.equal(toHex(encodeBinary({ sid: 6, cid: 26, ser: 2, code: 200, body: [] }, [])), V.nosReplyEmpty);
    assert.deepEqual(decodeBinaryRequest(hex(V.logout), table.layoutOf), {
      sid: 2,
      cid: 6,
      ser: 10,
      params: [],
    });
  });

  it('decodes the sync request and encodes the sync reply (Long)', () => {
    const r = decodeBinaryRequest(hex(V.syncRequest), table.layoutOf);
    const p = r.params[0] as Record<string, string>;
    assert.equal(Object.keys(p).length, 21);
    assert.ok(Object.values(p).every((v) => v === '0'));
    const [timetag] = decodeBinaryBody(hex(V.syncReply), ['Long']);
    const out = encodeBinary(
      { sid: 5, cid: 1, ser: 3, code: 200, body: [String(timetag)] },
      table.resultOf(5, 1, false),
    );
    assert.equal(toHex(out), V.syncReply);
  });

  it('decodes 7_1 and encodes its reply and the 7_2 push byte for byte', () => {
    const r = decodeBinaryRequest(hex(V.sendRequest), table.layoutOf);
    assert.deepEqual(r.params[0], {
      '0': '0',
      '1': 'bob',
      '8': '0',
      '9': 'hi from browser alice',
      '11': 'fc66d9408d6f5746d114c6cb011680d7',
      '13': '0',
      '28': '1',
    });
    const reply = encodeBinary(
      { sid: 7, cid: 1, ser: 7, code: 200, body: [sentMessage] },
      table.resultOf(7, 1, false),
    );
    assert.equal(toHex(reply), toHex(hex(V.sendReply)));
    const push = encodeBinary(
      { sid: 7, cid: 2, ser: 0, code: 200, body: [sentMessage] },
      table.resultOf(7, 2, true),
    );
    assert.equal(toHex(push), toHex(hex(V.push72)));
  });

  it('decodes 3_7 (StrArray) and 4_5 (Byte, Byte, LongArray)', () => {
    assert.deepEqual(decodeBinaryRequest(hex(V.getUsers), table.layoutOf).params, [['alice']]);
    assert.deepEqual(decodeBinaryRequest(hex(V.ack), table.layoutOf).params, [7, 2, [1001]]);
  });
});

const sample: Record<FieldType, unknown> = {
  Byte: 7,
  Bool: true,
  Int: 4_000_000_000,
  Long: 1795639282917,
  String: 'héllo 你好',
  Property: { '0': '0', '12': '1001', '1000': 'tok' },
  PropertyArray: [{ '1': 'a' }, {}, { '300': 'x' }],
  StrArray: ['a', '', 'ü'],
  LongArray: [1, 2 ** 40, 2 ** 53 - 1],
  StrStrMap: { a: 'b', c: '' },
  StrLongMap: { a: 5, b: 2 ** 33 },
  LongLongMap: { '1': 2, '99': 2 ** 35 },
  KVArray: [{ a: 'b' }, {}],
};

describe('binary framing: round trips and hostile bytes', () => {
  it('round-trips every field type', () => {
    const types = [...FIELD_TYPES];
    const frame = encodeBinaryRequest(
      { sid: 9, cid: 9, ser: 300, params: types.map((t) => sample[t]) },
      types,
    );
    assert.deepEqual(decodeHeader(frame), { sid: 9, cid: 9, ser: 300, tag: 0, offset: 6 });
    assert.deepEqual(
      decodeBinaryBody(frame, types),
      types.map((t) => sample[t]),
    );
  });

  it('round-trips arbitrary Properties (property test)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.integer({ min: 0, max: 20000 }).map(String), fc.string()), (p) => {
        const frame = encodeBinaryRequest({ sid: 7, cid: 1, ser: 1, params: [p] }, ['Property']);
        assert.deepEqual(decodeBinaryRequest(frame, table.layoutOf).params[0], { ...p });
      }),
    );
  });

  it('rejects truncated frames, truncated varints and over-long varints with FrameError', () => {
    for (const bad of [
      '',
      '00',
      '000203',
      '0002030100',
      '00020301000011',
      '0002030100001103',
      '000203010000ff',
      'ffffffffffff',
    ]) {
      assert.throws(() => decodeBinaryRequest(hex(bad), table.layoutOf), FrameError, bad);
    }
    // A count far larger than the frame is refused before anything is allocated.
    assert.throws(() => decodeBinaryRequest(hex('00030708000080808080 01'), table.layoutOf), FrameError);
    // A declared length larger than the frame (§5.1).
    assert.throws(() => decodeHeader(hex('7f0203010000')), FrameError);
  });

  it('never throws anything but FrameError on random bytes', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.constantFrom(...['2_3', '7_1', '4_5', '3_7', '5_1']),
        (bytes, cmd) => {
          const [sid, cid] = cmd.split('_').map(Number) as [number, number];
          const frame = Uint8Array.from([0, sid, cid, 1, 0, 0, ...bytes]);
          try {
            decodeBinaryRequest(frame, table.layoutOf);
          } catch (err) {
            assert.ok(err instanceof FrameError, String(err));
          }
        },
      ),
    );
  });
});

describe('JSON framing (vectors §B, §C)', () => {
  it('parses socket.io frames', () => {
    assert.deepEqual(parseSocketIoFrame('1::'), { kind: 'connect' });
    assert.deepEqual(parseSocketIoFrame('2::'), { kind: 'heartbeat' });
    assert.deepEqual(parseSocketIoFrame('0::'), { kind: 'disconnect' });
    assert.deepEqual(parseSocketIoFrame('3:::{"a":1}'), { kind: 'message', data: '{"a":1}' });
    for (const bad of ['', 'hello', '9::', '3']) assert.throws(() => parseSocketIoFrame(bad), FrameError);
  });

  it('decodes the v9 Node login and normalises numbers to strings', () => {
    const data =
      '{"SID":2,"CID":3,"SER":1,"timeout":8000,"hasPacketResponse":true,"hasPacketTimer":true,"Q":[{"t":"Property","v":{"3":16,"4":"6.18.44-fc-v669","6":"92112","8":1,"9":1,"13":"c8d4b38793de252b4ec057a6f09a5344","18":"testappkey0000000000000000000000","19":"alice","24":"vm v20.20.2","26":"58f9eeb9a15491b3313b7bfe711db3cf","38":"","40":"9.21.12","41":0,"42":"","44":"NodeJs","112":0,"1000":"tokA"}}]}';
    const r = decodeJsonRequest(data, table.layoutOf);
    assert.deepEqual([r.sid, r.cid, r.ser, r.noReply], [2, 3, 1, false]);
    const p = r.params[0] as Record<string, string>;
    assert.equal(p['3'], '16');
    assert.equal(p['8'], '1');
    assert.equal(p['1000'], 'tokA');
  });

  it('decodes the 4_5 ack (hasPacketResponse false, LongArray of strings)', () => {
    const r = decodeJsonRequest(
      '{"SID":4,"CID":5,"SER":10,"timeout":8000,"hasPacketResponse":false,"hasPacketTimer":true,"Q":[{"t":"Byte","v":7},{"t":"Byte","v":2},{"t":"LongArray","v":["1001"]}]}',
      table.layoutOf,
    );
    assert.equal(r.noReply, true);
    assert.deepEqual(r.params, [7, 2, [1001]]);
  });

  it('encodes replies with lowercase keys and no body for errors', () => {
    assert.equal(
      encodeJson({ sid: 5, cid: 1, ser: 3, code: 200, body: ['1795639825660'] }),
      '3:::{"sid":5,"cid":1,"ser":3,"code":200,"r":["1795639825660"]}',
    );
    assert.equal(
      encodeJson({ sid: 2, cid: 3, ser: 1, code: 302, body: [{}] }),
      '3:::{"sid":2,"cid":3,"ser":1,"code":302,"r":[]}',
    );
  });

  it('encodes the kick and multi-port pushes as captured (vectors §D)', () => {
    assert.equal(
      encodeJson({ sid: 2, cid: 5, ser: 0, code: 200, body: [32, 2, 'admin says bye', 0] }),
      '3:::{"sid":2,"cid":5,"ser":0,"code":200,"r":[32,2,"admin says bye",0]}',
    );
    const port = {
      '3': '16',
      '13': 'dev',
      '19': 'alice',
      '102': 'c6',
      '103': '127.0.0.1',
      '109': '1795639150012',
    };
    assert.equal(
      encodeJson({ sid: 2, cid: 7, ser: 0, code: 200, body: [2, [port]] }),
      `3:::{"sid":2,"cid":7,"ser":0,"code":200,"r":[2,[${JSON.stringify(port)}]]}`,
    );
    // Binary: Int from, Int reason, String custom, Int customClientType (Appendix A).
    const kick = encodeBinary(
      { sid: 2, cid: 5, ser: 0, code: 200, body: [32, 2, 'x', 7] },
      table.resultOf(2, 5, true),
    );
    assert.equal(toHex(kick), '000205000002c800' + '20000000' + '02000000' + '0178' + '07000000');
    assert.deepEqual(decodeBinaryBody(kick, ['Int', 'Int', 'String', 'Int']), [32, 2, 'x', 7]);
  });

  it('rejects malformed packets with FrameError', () => {
    for (const bad of [
      'not json',
      '[]',
      '{"SID":"2","CID":3,"SER":1}',
      '{"SID":2,"CID":3,"SER":-1}',
      '{"SID":2,"CID":3,"SER":1,"Q":{}}',
      '{"SID":2,"CID":3,"SER":1,"Q":[5]}',
      '{"SID":2,"CID":3,"SER":1,"Q":[{"t":"Property","v":{"x":1}}]}',
    ]) {
      assert.throws(() => decodeJsonRequest(bad, table.layoutOf), FrameError, bad);
    }
  });
});

describe('WebSocket frames written by the gateway', () => {
  it('are the bytes ws would write, for every length class', async () => {
    const { Sender } = (await import('ws')) as unknown as {
      Sender: { frame(data: Buffer, o: object): Buffer[] };
    };
    const { webSocketFrames } = await import('../../src/gateway/transport.js');
    const sizes = [0, 1, 125, 126, 127, 65535, 65536, 70000];
    const payloads = sizes.map((n) => Buffer.alloc(n, n % 251));
    for (const opcode of [0x1, 0x2]) {
      const expected = Buffer.concat(
        payloads.flatMap((p) =>
          Sender.frame(p, { fin: true, opcode, mask: false, readOnly: true, rsv1: false }),
        ),
      );
      assert.ok(webSocketFrames(opcode, payloads).equals(expected));
    }
  });
});

describe('frozen Properties', () => {
  it('encode to the same bytes as an unfrozen copy, every time', () => {
    const fields = { '0': '0', '1': 'bob', '9': 'héllo', '12': '42', '7': '1764489600000' };
    const frozen = Object.freeze({ ...fields });
    const plain = toHex(encodeBinary({ sid: 7, cid: 2, ser: 0, code: 200, body: [fields] }, ['Property']));
    for (let i = 0; i < 3; i++)
      assert.equal(
        toHex(encodeBinary({ sid: 7, cid: 2, ser: 0, code: 200, body: [frozen] }, ['Property'])),
        plain,
      );
    const reply = encodeBinary({ sid: 7, cid: 1, ser: 9, code: 200, body: [frozen] }, ['Property']);
    assert.deepEqual(decodeBinaryBody(reply, ['Property']), [fields]);
  });
});
