/**
 * The Watch method: the cluster's snapshot, then every change. The snapshot
 * is encoded once per cluster generation and each change once for all
 * watchers; the transport sends those shared bytes without copying them, so
 * a thousand watchers cost a thousand references, not a thousand buffers.
 *
 * @module
 */
import { create, toBinary } from "@bufbuild/protobuf";
import {
  AffiliateSchema,
  WatchResponseSchema,
} from "../../../proto/gen/sidero/discovery/server/cluster_pb.ts";
import type { Gate } from "./gate.ts";
import {
  grpcFrame,
  type GrpcResponder,
  type GrpcStatusName,
} from "../../../web/grpc/mod.ts";
import type { AffiliateView, DiscoveryStore, WatchEvent } from "./store.ts";

/** What Watch needs. */
export interface WatchDeps {
  state: DiscoveryStore;
  /** Bounds how many snapshots are being sent at once. */
  snapshotGate: Gate;
  /** A slow client gives its snapshot permit back after this long. */
  snapshotHoldMs: number;
}

function affiliatePB(a: AffiliateView) {
  return create(AffiliateSchema, {
    id: a.id,
    data: a.data,
    endpoints: a.endpoints,
  });
}

/** Unframed bytes a stream may hold before changes queue in its watcher. */
const SINK_BACKLOG = 256 * 1024;

const eventFrames = new WeakMap<WatchEvent, Uint8Array>();

/** The framed WatchResponse of one change, encoded once. */
export function eventFrame(ev: WatchEvent): Uint8Array {
  let f = eventFrames.get(ev);
  if (!f) {
    const msg = ev.kind === "update"
      ? create(WatchResponseSchema, { affiliates: [affiliatePB(ev.affiliate)] })
      : create(WatchResponseSchema, {
        affiliates: [create(AffiliateSchema, { id: ev.id })],
        deleted: true,
      });
    f = grpcFrame(toBinary(WatchResponseSchema, msg));
    eventFrames.set(ev, f);
  }
  return f;
}

/** Builds the Watch runner. */
export function createWatch(deps: WatchDeps) {
  const snapshots = new Map<
    string,
    { generation: string; frame: Uint8Array }
  >();

  function snapshotFrame(
    clusterId: string,
    generation: string,
    list: () => AffiliateView[],
  ) {
    const hit = snapshots.get(clusterId);
    if (hit?.generation === generation) return hit.frame;
    const frame = grpcFrame(
      toBinary(
        WatchResponseSchema,
        create(WatchResponseSchema, { affiliates: list().map(affiliatePB) }),
      ),
    );
    snapshots.set(clusterId, { generation, frame });
    if (snapshots.size > 64) snapshots.delete(snapshots.keys().next().value!);
    return frame;
  }

  /** Streams `clusterId` to `out` until the call ends; returns its status. */
  return async function watch(
    clusterId: string,
    out: GrpcResponder,
    signal: AbortSignal,
  ): Promise<{ status: GrpcStatusName; message: string }> {
    const release = await deps.snapshotGate.acquire(signal);
    let watching;
    try {
      watching = deps.state.watch(clusterId);
    } catch (err) {
      release(); // over a total: no stream, no permit held
      throw err;
    }
    const { snapshot, watcher, generation } = watching;
    const timer = setTimeout(release, deps.snapshotHoldMs);
    try {
      try {
        await out.send(snapshotFrame(clusterId, generation, snapshot));
      } finally {
        clearTimeout(timer);
        release();
      }
      // From now on changes go straight onto the stream while its backlog is
      // small; only a congested stream queues (coalesced) and drains here.
      const stream = out.stream;
      watcher.sink = (ev) => {
        if (signal.aborted || stream.queuedBytes > SINK_BACKLOG) return false;
        out.sendNow(eventFrame(ev), true);
        return true;
      };
      while (!signal.aborted) {
        await watcher.wait(signal);
        if (watcher.lost) return { status: "Aborted", message: "lost update" };
        let ev: WatchEvent | undefined;
        while (!signal.aborted && (ev = watcher.next()) !== undefined) {
          await out.send(eventFrame(ev));
        }
      }
      return { status: "Canceled", message: "" };
    } finally {
      watcher.sink = undefined;
      deps.state.unwatch(clusterId, watcher);
    }
  };
}
