/**
 * Converts between the agent's {@linkcode AffiliateSpec} and the
 * `sidero.discovery.client` protobuf payload (before encryption).
 *
 * @module
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  AffiliateSchema,
  EndpointSchema,
  type IPPrefix,
  IPPrefixSchema,
  KubeSpanSchema,
} from "../../proto/gen/sidero/discovery/client/affiliate_pb.ts";
import {
  formatAddrPort,
  formatIP,
  formatPrefix,
  ipFromBytes,
  parseAddrPort,
  parseIP,
  parsePrefix,
} from "../../core/netaddr/ip.ts";
import type { AffiliateSpec } from "../../core/resources/specs.ts";

/** Encodes one `ip:port` endpoint as an `Endpoint` message. */
export function encodeEndpoint(text: string): Uint8Array {
  const ap = parseAddrPort(text);
  return toBinary(
    EndpointSchema,
    create(EndpointSchema, { ip: ap.ip.bytes, port: ap.port }),
  );
}

/**
 * Decodes an `Endpoint` message to `ip:port` text.
 *
 * @throws {RangeError} for a bad address or port
 */
export function decodeEndpoint(bytes: Uint8Array): string {
  const e = fromBinary(EndpointSchema, bytes);
  if (e.port === 0 || e.port > 65535) {
    throw new RangeError(
      `Cannot decode endpoint: port ${e.port} is out of range`,
    );
  }
  return formatAddrPort({ ip: ipFromBytes(e.ip), port: e.port });
}

function prefixToPB(text: string): IPPrefix {
  const p = parsePrefix(text);
  return create(IPPrefixSchema, { ip: p.ip.bytes, bits: p.bits });
}

function prefixFromPB(p: IPPrefix): string {
  const ip = ipFromBytes(p.ip);
  if (p.bits > (ip.family === 4 ? 32 : 128)) {
    throw new RangeError(`Cannot decode prefix: length ${p.bits} is too long`);
  }
  return formatPrefix({ ip, bits: p.bits });
}

/** Encodes the affiliate data (endpoints travel separately). */
export function encodeAffiliate(spec: AffiliateSpec): Uint8Array {
  const msg = create(AffiliateSchema, {
    nodeId: spec.nodeId,
    addresses: spec.addresses.map((a) => parseIP(a).bytes),
    hostname: spec.hostname,
    nodename: spec.nodename,
    machineType: spec.machineType,
    operatingSystem: spec.operatingSystem,
  });
  if (spec.kubespan) {
    msg.kubespan = create(KubeSpanSchema, {
      publicKey: spec.kubespan.publicKey,
      address: parseIP(spec.kubespan.address).bytes,
      additionalAddresses: spec.kubespan.additionalAddresses.map(prefixToPB),
      excludeAdvertisedAddresses: spec.kubespan.excludeAdvertisedNetworks.map(
        prefixToPB,
      ),
    });
  }
  return toBinary(AffiliateSchema, msg);
}

/**
 * Decodes affiliate data plus its (already opened) endpoints.
 *
 * @throws {Error} when the bytes are not a valid payload
 */
export function decodeAffiliate(
  bytes: Uint8Array,
  endpoints: readonly string[],
  source: string,
): AffiliateSpec {
  const msg = fromBinary(AffiliateSchema, bytes);
  const spec: AffiliateSpec = {
    nodeId: msg.nodeId,
    hostname: msg.hostname,
    nodename: msg.nodename,
    machineType: msg.machineType,
    operatingSystem: msg.operatingSystem,
    addresses: msg.addresses.map((a) => formatIP(ipFromBytes(a))),
    sources: [source],
  };
  if (msg.kubespan) {
    spec.kubespan = {
      publicKey: msg.kubespan.publicKey,
      address: formatIP(ipFromBytes(msg.kubespan.address)),
      additionalAddresses: msg.kubespan.additionalAddresses.map(prefixFromPB),
      excludeAdvertisedNetworks: msg.kubespan.excludeAdvertisedAddresses.map(
        prefixFromPB,
      ),
      endpoints: [...endpoints],
    };
  }
  return spec;
}
