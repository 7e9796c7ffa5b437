/**
 * `Nftables`: replace one table atomically, delete it, read it back.
 *
 * @module
 */
import { NotFoundError } from "../netlink/errors.ts";
import { type NetlinkMessage, Protocol } from "../netlink/message.ts";
import { NetlinkClient, type NetlinkConn } from "../netlink/conn.ts";
import {
  encodeDeleteTable,
  encodeReplaceTable,
  type NftTableSpec,
} from "./batch.ts";
import type { NftFamily } from "./constants.ts";
import {
  elementsText,
  encodeGetChains,
  encodeGetRules,
  encodeGetSetElements,
  encodeGetSets,
  encodeGetTable,
  type NftReadTable,
  parseChain,
  parseRule,
  parseSet,
  parseSetElements,
  tableOf,
} from "./read.ts";
import { tableDrift } from "./verify.ts";

/** Options of {@linkcode Nftables.open}. */
export interface NftablesOptions {
  /** Netns name (under /run/netns) or path; absent = the caller's. */
  netns?: string;
  /**
   * A connection instead of a new NETLINK_NETFILTER socket (tests: the
   * fake of `tests/_tools/nltest.ts`); closed by {@linkcode Nftables.close}.
   */
  conn?: NetlinkConn;
}

/** Options of {@linkcode Nftables.deleteTable}. */
export interface DeleteTableOptions {
  /** Succeed when the table does not exist. @default true */
  ifExists?: boolean;
}

/**
 * nf_tables client over one NETLINK_NETFILTER socket.
 *
 * @example Replace the mesh table atomically (needs CAP_NET_ADMIN)
 * ```ts ignore
 * const nft = await Nftables.open();
 * await nft.replaceTable(meshTableSpec({
 *   name: "edgespan", routedIPv4: ["10.0.0.0/8"], routedIPv6: [],
 *   mssIPv4: 1368, mssIPv6: 1348,
 *   firewallMark: 0x20, forceFirewallMark: 0x40, firewallMask: 0x60,
 * }));
 * console.log(await nft.readTable("inet", "edgespan"));
 * nft.close();
 * ```
 */
export class Nftables {
  readonly #sock: NetlinkClient;

  private constructor(sock: NetlinkClient) {
    this.#sock = sock;
  }

  /** Opens the socket (or uses `options.conn`). */
  static async open(options: NftablesOptions = {}): Promise<Nftables> {
    return new Nftables(await NetlinkClient.open(Protocol.NETFILTER, options));
  }

  /** Closes the socket. */
  close(): void {
    this.#sock.close();
  }

  /**
   * Replaces the table with `spec` in one atomic transaction; on any error
   * the kernel keeps the previous table untouched.
   */
  async replaceTable(spec: NftTableSpec): Promise<void> {
    const tx = encodeReplaceTable(spec);
    const prefix = `replace nft table ${spec.family} ${spec.name}`;
    await this.#sock.transaction(
      (i) =>
        i < 0 ? prefix : `${prefix}: ${tx.descriptions[i] ?? `message ${i}`}`,
      tx.messages,
    );
  }

  /** Deletes a table with everything in it. */
  async deleteTable(
    family: NftFamily,
    name: string,
    options: DeleteTableOptions = {},
  ): Promise<void> {
    const tx = encodeDeleteTable(family, name, options.ifExists ?? true);
    await this.#sock.transaction(
      () => `delete nft table ${family} ${name}`,
      tx.messages,
    );
  }

  /** Whether the table exists. */
  async hasTable(family: NftFamily, name: string): Promise<boolean> {
    try {
      await this.#sock.request(
        `read nft table ${family} ${name}`,
        encodeGetTable(family, name),
      );
      return true;
    } catch (err) {
      if (err instanceof NotFoundError) return false;
      throw err;
    }
  }

  /** Reads a table back (NotFoundError when it does not exist). */
  async readTable(family: NftFamily, name: string): Promise<NftReadTable> {
    const op = `read nft table ${family} ${name}`;
    await this.#sock.request(op, encodeGetTable(family, name));
    const mine = (msgs: NetlinkMessage[]) =>
      msgs.filter((m) => tableOf(m) === name);
    const chains = mine(
      await this.#sock.dump(op, encodeGetChains(family, name)),
    ).map(parseChain);
    const sets = [];
    for (
      const m of mine(await this.#sock.dump(op, encodeGetSets(family, name)))
    ) {
      const s = parseSet(m);
      const raw = parseSetElements(
        await this.#sock.dump(op, encodeGetSetElements(family, name, s.name)),
      );
      sets.push({
        name: s.name,
        type: s.type,
        interval: s.interval,
        anonymous: s.anonymous,
        elements: elementsText(s, raw),
      });
    }
    for (
      const m of mine(await this.#sock.dump(op, encodeGetRules(family, name)))
    ) {
      const { chain, rule } = parseRule(m);
      chains.find((c) => c.name === chain)?.rules.push(rule);
    }
    return { family, name, sets, chains };
  }

  /**
   * Reads table `spec.name` back and lists how it differs from `spec`
   * (see {@linkcode tableDrift}); empty when the kernel has exactly it.
   */
  async verifyTable(spec: NftTableSpec): Promise<string[]> {
    let read: NftReadTable | undefined;
    try {
      read = await this.readTable(spec.family, spec.name);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
    return tableDrift(spec, read);
  }
}
