/**
 * Converts between the agent's {@linkcode AffiliateSpec} and the
 * `sidero.discovery.client` protobuf payload (before encryption).
 *
 * Decoding is per item, as Talos does it: one address, prefix or endpoint
 * that does not decode is dropped (and reported), not the whole affiliate.
 *
 * edgespan's extension (advertised endpoints, observed peer endpoints, a
 * relay offer) is a
 * separate message appended to the Talos bytes as field 100: Talos's
 * decoder skips it, and no field Talos reads changes.
 *
 * @module
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  AffiliateSchema,
  ControlPlaneSchema,
  EndpointSchema,
  type IPPrefix,
  IPPrefixSchema,
  type KubeSpan,
  KubeSpanSchema,
} from "../../proto/gen/sidero/discovery/client/affiliate_pb.ts";
import {
  AffiliateExtensionSchema,
  EdgespanSchema,
  type Observation,
  ObservationSchema,
  PeerSearchSchema,
  RelayOfferSchema,
} from "../../proto/gen/edgespan/discovery/affiliate_ext_pb.ts";
import {
  formatAddrPort,
  formatIP,
  formatPrefix,
  ipFromBytes,
  parseAddrPort,
  parseIP,
  parsePrefix,
} from "../../core/netaddr/ip.ts";
import { parseKey } from "../../core/identity/keys.ts";
import type {
  AffiliateEdgespan,
  AffiliateKubeSpan,
  AffiliateSpec,
  EndpointSpec,
} from "../../core/resources/specs.ts";

/**
 * The largest plaintext whose sealed form (12-byte nonce + 16-byte tag)
 * fits the discovery service's 2048-byte limit on affiliate data.
 */
export const MAX_PLAIN_DATA = 2048 - 28;

function endpointToPB(text: string) {
  const ap = parseAddrPort(text);
  return create(EndpointSchema, { ip: ap.ip.bytes, port: ap.port });
}

/** Encodes one `ip:port` endpoint as an `Endpoint` message. */
export function encodeEndpoint(text: string): Uint8Array {
  return toBinary(EndpointSchema, endpointToPB(text));
}

function endpointFromPB(e: { ip: Uint8Array; port: number }): string {
  if (e.port === 0 || e.port > 65535) {
    throw new RangeError(
      `Cannot decode endpoint: port ${e.port} is out of range`,
    );
  }
  return formatAddrPort({ ip: ipFromBytes(e.ip), port: e.port });
}

/**
 * Decodes an `Endpoint` message to `ip:port` text.
 *
 * @throws {RangeError} for a bad address or port
 */
export function decodeEndpoint(bytes: Uint8Array): string {
  return endpointFromPB(fromBinary(EndpointSchema, bytes));
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

/**
 * Encodes edgespan's extension as field 100 (bytes to append to the Talos
 * message). Observations are dropped from the end while the whole payload
 * would exceed `room` bytes; the extension is left out when even its
 * advertised list does not fit.
 */
function encodeExtension(ext: AffiliateEdgespan, room: number): Uint8Array {
  const advertised = ext.advertised.map(endpointToPB);
  const observed = ext.observed.map((o) =>
    create(ObservationSchema, {
      nodeId: o.affiliateID,
      endpoint: endpointToPB(o.endpoint),
    })
  );
  const searching = (ext.searching ?? []).map((s) =>
    create(PeerSearchSchema, {
      nodeId: s.affiliateID,
      sinceMs: BigInt(Math.max(0, Math.trunc(s.since))),
    })
  );
  for (let n = observed.length; n >= 0; n--) {
    const bytes = toBinary(
      AffiliateExtensionSchema,
      create(AffiliateExtensionSchema, {
        edgespan: create(EdgespanSchema, {
          advertised,
          observed: observed.slice(0, n),
          searching,
          ...(ext.relay
            ? {
              relay: create(RelayOfferSchema, {
                controlPort: ext.relay.controlPort,
                priority: ext.relay.priority,
              }),
            }
            : {}),
        }),
      }),
    );
    if (bytes.length <= room) return bytes;
  }
  return new Uint8Array();
}

/**
 * Encodes the affiliate data (endpoints travel separately). The Talos
 * fields come first and are never trimmed; edgespan's extension, when the
 * spec has one, is appended as far as `maxBytes` allows.
 */
export function encodeAffiliate(
  spec: AffiliateSpec,
  maxBytes: number = MAX_PLAIN_DATA,
): Uint8Array {
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
      address: spec.kubespan.address
        ? parseIP(spec.kubespan.address).bytes
        : new Uint8Array(),
      additionalAddresses: spec.kubespan.additionalAddresses.map(prefixToPB),
      excludeAdvertisedAddresses: spec.kubespan.excludeAdvertisedNetworks.map(
        prefixToPB,
      ),
    });
  }
  if (spec.controlPlane) {
    msg.controlPlane = create(ControlPlaneSchema, {
      apiServerPort: spec.controlPlane.apiServerPort,
    });
  }
  const talos = toBinary(AffiliateSchema, msg);
  if (!spec.edgespan) return talos;
  const ext = encodeExtension(spec.edgespan, maxBytes - talos.length);
  const out = new Uint8Array(talos.length + ext.length);
  out.set(talos);
  out.set(ext, talos.length);
  return out;
}

/** Options of {@linkcode decodeAffiliate}. */
export interface DecodeAffiliateOptions {
  /** The affiliate's endpoints, already opened and decoded. @default [] */
  endpoints?: readonly string[];
  /** Name put into `sources`. */
  source: string;
  /**
   * Called once per item dropped because it does not decode, with the
   * item's path (`addresses[1]`, `kubespan.additionalAddresses[0]`, ...)
   * and the reason. @default ignore
   */
  onSkip?: (item: string, reason: string) => void;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Decodes each item with `decode`, dropping (and reporting) the bad ones. */
function eachItem<T>(
  items: readonly T[],
  path: string,
  decode: (item: T) => string,
  skip: (item: string, reason: string) => void,
): string[] {
  const out: string[] = [];
  items.forEach((item, i) => {
    try {
      out.push(decode(item));
    } catch (err) {
      skip(`${path}[${i}]`, message(err));
    }
  });
  return out;
}

/**
 * Decodes affiliate data plus its (already opened) endpoints. Items that do
 * not decode are dropped one by one: a node address, a prefix, the mesh
 * address (left empty, as Talos leaves it zero), or the whole KubeSpan block
 * when its public key is not a WireGuard key (the node cannot be a peer).
 *
 * @throws {Error} only when the bytes are not an `Affiliate` message at all
 */
export function decodeAffiliate(
  bytes: Uint8Array,
  options: DecodeAffiliateOptions,
): AffiliateSpec {
  const msg = fromBinary(AffiliateSchema, bytes);
  const skip = options.onSkip ?? (() => {});
  const ip = (b: Uint8Array) => formatIP(ipFromBytes(b));
  const spec: AffiliateSpec = {
    nodeId: msg.nodeId,
    hostname: msg.hostname,
    nodename: msg.nodename,
    machineType: msg.machineType,
    operatingSystem: msg.operatingSystem,
    addresses: eachItem(msg.addresses, "addresses", ip, skip),
    sources: [options.source],
  };
  const ks = msg.kubespan;
  if (ks) {
    const kubespan = decodeKubeSpan(ks, options.endpoints ?? [], skip);
    if (kubespan) spec.kubespan = kubespan;
  }
  if (msg.controlPlane) {
    const port = msg.controlPlane.apiServerPort;
    if (port > 65535) {
      skip("controlPlane", `API server port ${port} is out of range`);
    } else {
      spec.controlPlane = { apiServerPort: port };
    }
  }
  const edgespan = decodeExtension(bytes, skip);
  if (edgespan) spec.edgespan = edgespan;
  return spec;
}

/** Reads field 100 from the same bytes; a bad item is dropped alone. */
function decodeExtension(
  bytes: Uint8Array,
  skip: (item: string, reason: string) => void,
): AffiliateEdgespan | undefined {
  let ext;
  try {
    ext = fromBinary(AffiliateExtensionSchema, bytes).edgespan;
  } catch (err) {
    skip("edgespan", message(err));
    return undefined;
  }
  if (!ext) return undefined;
  const observed: EndpointSpec[] = [];
  ext.observed.forEach((o: Observation, i) => {
    try {
      if (!o.endpoint) throw new RangeError("no endpoint");
      if (o.nodeId === "") throw new RangeError("no node id");
      observed.push({
        affiliateID: o.nodeId,
        endpoint: endpointFromPB(o.endpoint),
      });
    } catch (err) {
      skip(`edgespan.observed[${i}]`, message(err));
    }
  });
  const out: AffiliateEdgespan = {
    advertised: eachItem(
      ext.advertised,
      "edgespan.advertised",
      endpointFromPB,
      skip,
    ),
    observed,
  };
  ext.searching.forEach((s, i) => {
    const since = Number(s.sinceMs);
    if (s.nodeId === "" || !Number.isSafeInteger(since)) {
      skip(`edgespan.searching[${i}]`, "no node id or a bad time");
      return;
    }
    (out.searching ??= []).push({ affiliateID: s.nodeId, since });
  });
  if (ext.relay) {
    const port = ext.relay.controlPort;
    if (port === 0 || port > 65535) {
      skip("edgespan.relay", `control port ${port} is out of range`);
    } else {
      out.relay = { controlPort: port, priority: ext.relay.priority };
    }
  }
  return out;
}

function decodeKubeSpan(
  ks: KubeSpan,
  endpoints: readonly string[],
  skip: (item: string, reason: string) => void,
): AffiliateKubeSpan | undefined {
  try {
    parseKey(ks.publicKey);
  } catch (err) {
    skip("kubespan", message(err));
    return undefined;
  }
  let address = "";
  try {
    if (ks.address.length > 0) address = formatIP(ipFromBytes(ks.address));
  } catch (err) {
    skip("kubespan.address", message(err));
  }
  return {
    publicKey: ks.publicKey,
    address,
    additionalAddresses: eachItem(
      ks.additionalAddresses,
      "kubespan.additionalAddresses",
      prefixFromPB,
      skip,
    ),
    excludeAdvertisedNetworks: eachItem(
      ks.excludeAdvertisedAddresses,
      "kubespan.excludeAdvertisedAddresses",
      prefixFromPB,
      skip,
    ),
    endpoints: [...endpoints],
  };
}
