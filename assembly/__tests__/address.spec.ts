// The client IP cut from `source.address`: addressIpAt (on the host's bytes, what the filters use
// per request) must cut exactly where addressIp (on the decoded text) does.
import { addressIp, addressIpAt } from "../runtime/address";
import { decodeUtf8Lossy } from "../encoding/utf8";

function bytesOf(values: u8[]): ArrayBuffer {
  const buf = new ArrayBuffer(values.length);
  for (let i = 0; i < values.length; i++) store<u8>(changetype<usize>(buf) + <usize>i, values[i]);
  return buf;
}

function ipAt(buf: ArrayBuffer): string {
  return addressIpAt(changetype<usize>(buf), <usize>buf.byteLength);
}

function textAndBytesAgree(buf: ArrayBuffer): void {
  const text = decodeUtf8Lossy(changetype<usize>(buf), <usize>buf.byteLength);
  expect(ipAt(buf)).toBe(addressIp(text), text);
}

describe("addressIpAt", () => {
  it("strips the port of IPv4 and bracketed IPv6 addresses", () => {
    expect(ipAt(String.UTF8.encode("127.0.0.1:50000"))).toBe("127.0.0.1");
    expect(ipAt(String.UTF8.encode("[::1]:5000"))).toBe("::1");
    expect(ipAt(String.UTF8.encode("[2001:db8::7]:443"))).toBe("2001:db8::7");
  });

  it("keeps an address without a port whole, and an unclosed bracket", () => {
    expect(ipAt(String.UTF8.encode("10.0.0.1"))).toBe("10.0.0.1");
    expect(ipAt(String.UTF8.encode("2001:db8::7"))).toBe("2001:db8::7");
    expect(ipAt(String.UTF8.encode("[::1"))).toBe("[::1");
    expect(ipAt(String.UTF8.encode(""))).toBe("");
  });

  it("cuts where addressIp cuts the decoded text, non-ASCII and invalid bytes included", () => {
    const cases: string[] = ["a:1", ":1", "x:", "[]:1", "[", "]:", "::", "é:1", "[é]:2", "1.2.3.4:", "[a]b:c"];
    for (let i = 0; i < cases.length; i++) textAndBytesAgree(String.UTF8.encode(cases[i]));
    textAndBytesAgree(bytesOf([0xe2, 0x82, 0x3a, 0x38, 0x30])); // a cut-short sequence before ':'
    textAndBytesAgree(bytesOf([0x5b, 0xff, 0x5d, 0x3a, 0x31])); // "[\xff]:1"
    textAndBytesAgree(bytesOf([0x31, 0xc3, 0x3a, 0xa9])); // a sequence broken by ':'
  });
});
