/**
 * The etcd store against an etcd that serves TLS (a test CA, the server
 * certificate for 127.0.0.1) with password auth enabled: `--etcd-ca`,
 * `--etcd-user` and `--etcd-password-file` work, a wrong password leaves the
 * replica not ready with a reason naming the user, never the password.
 * With `--client-cert-auth`: `--etcd-cert`/`--etcd-key` work; without a
 * client certificate, or with one of another CA, the replica is not ready
 * and `/readyz` says what to give.
 */
import { assert, assertEquals } from "../../_tools/assert.ts";
import { etcdSkipReason, startEtcdCluster } from "../../_tools/etcd_cluster.ts";
import { rawClient } from "./_harness.ts";
import { httpGet, LONG_TTL, startReplica } from "./_etcd_replicas.ts";
import { exclusive } from "./_exclusive.ts";

async function opensslMissing(): Promise<string | undefined> {
  try {
    const ok = (await new Deno.Command("openssl", {
      args: ["version"],
      stdout: "null",
    }).output()).success;
    return ok ? undefined : "openssl failed";
  } catch {
    return "openssl is not installed";
  }
}

const SKIP = (await etcdSkipReason()) ?? (await opensslMissing());
if (SKIP) console.log(`etcd TLS/auth test skipped: ${SKIP}`);

async function openssl(dir: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", {
    args,
    cwd: dir,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
}

const EC = [
  "-newkey",
  "ec",
  "-pkeyopt",
  "ec_paramgen_curve:prime256v1",
  "-nodes",
];

/** A self-signed CA: `<name>.pem` and `<name>.key` in `dir`. */
async function makeCa(dir: string, name: string, cn: string): Promise<void> {
  await openssl(dir, [
    "req",
    "-x509",
    ...EC,
    "-days",
    "1",
    "-subj",
    `/CN=${cn}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`,
  ]);
}

/** `<name>.pem` and `<name>.key`, signed by the CA `ca`, with `ext` lines. */
async function makeLeaf(
  dir: string,
  ca: string,
  name: string,
  ext: string,
): Promise<void> {
  await openssl(dir, [
    "req",
    ...EC,
    "-subj",
    `/CN=${name}`,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
  ]);
  await Deno.writeTextFile(`${dir}/${name}.cnf`, ext);
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.pem`,
    "-CAkey",
    `${ca}.key`,
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    `${name}.cnf`,
    "-out",
    `${name}.pem`,
  ]);
}

/**
 * A CA and a server certificate for 127.0.0.1 signed by it (clientAuth too:
 * under `--client-cert-auth` etcd 3.4's JSON gateway dials etcd with it).
 */
async function makeCerts(dir: string): Promise<void> {
  await makeCa(dir, "ca", "edgespan test CA");
  await makeLeaf(
    dir,
    "ca",
    "server",
    "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n",
  );
}

/** An affiliate written through the replica on `port` is listed by it. */
async function assertServes(port: number): Promise<void> {
  await rawClient(port).affiliateUpdate({
    clusterId: "c",
    affiliateId: "a",
    affiliateData: new Uint8Array([1]),
    ttl: LONG_TTL,
  });
  const list = await rawClient(port).list({ clusterId: "c" });
  assertEquals(list.affiliates.map((a) => a.id), ["a"]);
}

/** A test against a real etcd, one at a time with the other heavy ones. */
function etcdTest(name: string, run: () => Promise<void>): void {
  Deno.test({
    name,
    ignore: SKIP !== undefined,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: () => exclusive("discovery-heavy-tests", run),
  });
}

etcdTest(
  "etcd store over TLS with password auth: works with the right password; a wrong one leaves the replica not ready, saying why",
  secureRun,
);

/** A fresh directory with the test CA and the server certificate; removed after. */
async function withCerts(
  prefix: string,
  body: (dir: string, caPem: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    await makeCerts(dir);
    await body(dir, await Deno.readTextFile(`${dir}/ca.pem`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** One etcd member serving TLS with the server certificate in `dir`. */
function startTlsEtcd(
  dir: string,
  caPem: string,
  clientAuth?: { trustedCaFile: string; certPem: string; keyPem: string },
) {
  return startEtcdCluster({
    members: 1,
    tls: {
      certFile: `${dir}/server.pem`,
      keyFile: `${dir}/server.key`,
      caPem,
      ...(clientAuth ? { clientAuth } : {}),
    },
  });
}

function secureRun(): Promise<void> {
  return withCerts("edgespan-etcd-tls-", async (dir, caPem) => {
    const etcd = await startTlsEtcd(dir, caPem);
    const http = Deno.createHttpClient({ caCerts: [caPem] });
    try {
      const call = async (path: string, body: unknown) => {
        const res = await fetch(`${etcd.endpoints[0]}${path}`, {
          method: "POST",
          body: JSON.stringify(body),
          client: http,
        });
        assertEquals(res.status, 200, `${path}: ${await res.clone().text()}`);
        await res.body?.cancel();
      };
      await call("/v3/auth/user/add", {
        name: "root",
        password: "s3cret-pw",
      });
      await call("/v3/auth/role/add", { name: "root" });
      await call("/v3/auth/user/grant", { user: "root", role: "root" });
      await call("/v3/auth/enable", {});
      await Deno.writeTextFile(`${dir}/pw`, "s3cret-pw\n");
      await Deno.writeTextFile(`${dir}/bad-pw`, "bad-pw-x9q\n");

      const [good, bad] = await Promise.all([
        startReplica(etcd.endpoints, [
          "--etcd-ca",
          `${dir}/ca.pem`,
          "--etcd-user",
          "root",
          "--etcd-password-file",
          `${dir}/pw`,
        ]),
        startReplica(etcd.endpoints, [
          "--etcd-ca",
          `${dir}/ca.pem`,
          "--etcd-user",
          "root",
          "--etcd-password-file",
          `${dir}/bad-pw`,
        ]),
      ]);
      try {
        assertEquals((await httpGet(good.port, "/readyz")).status, 200);
        await assertServes(good.port);

        const ready = await httpGet(bad.port, "/readyz");
        assertEquals(ready.status, 503);
        assert(ready.text.includes('etcd refused user "root"'), ready.text);
        assert(!ready.text.includes("x9q") && !bad.log().includes("x9q"));
      } finally {
        await good.kill();
        await bad.kill();
      }
    } finally {
      http.close();
      await etcd.stop();
    }
  });
}

etcdTest(
  "etcd store with client certificates (--client-cert-auth): --etcd-cert/--etcd-key make the replica ready; without a certificate, or with one of another CA, it stays not ready and says what to fix",
  clientCertRun,
);

function clientCertRun(): Promise<void> {
  return withCerts("edgespan-etcd-mtls-", async (dir, caPem) => {
    const clientExt = "extendedKeyUsage=clientAuth\n";
    await makeLeaf(dir, "ca", "client", clientExt);
    await makeCa(dir, "other-ca", "another CA");
    await makeLeaf(dir, "other-ca", "stranger", clientExt);
    const certPem = await Deno.readTextFile(`${dir}/client.pem`);
    const keyPem = await Deno.readTextFile(`${dir}/client.key`);
    const etcd = await startTlsEtcd(dir, caPem, {
      trustedCaFile: `${dir}/ca.pem`,
      certPem,
      keyPem,
    });
    const http = Deno.createHttpClient({
      caCerts: [caPem],
      cert: certPem,
      key: keyPem,
    });
    try {
      const ca = ["--etcd-ca", `${dir}/ca.pem`];
      const [good, none, stranger] = await Promise.all([
        startReplica(etcd.endpoints, [
          ...ca,
          "--etcd-cert",
          `${dir}/client.pem`,
          "--etcd-key",
          `${dir}/client.key`,
        ]),
        startReplica(etcd.endpoints, ca),
        startReplica(etcd.endpoints, [
          ...ca,
          "--etcd-cert",
          `${dir}/stranger.pem`,
          "--etcd-key",
          `${dir}/stranger.key`,
        ]),
      ]);
      try {
        const ok = await httpGet(good.port, "/readyz");
        assertEquals(ok.status, 200, ok.text);
        await assertServes(good.port);
        // In etcd itself, read with the client certificate.
        const res = await fetch(`${etcd.endpoints[0]}/v3/kv/range`, {
          method: "POST",
          body: JSON.stringify({ key: btoa("/edgespan/discovery/a/c/a") }),
          client: http,
        });
        assertEquals(res.status, 200);
        const body = await res.json() as { kvs?: { key: string }[] };
        assertEquals(
          (body.kvs ?? []).map((kv) => atob(kv.key)),
          ["/edgespan/discovery/a/c/a"],
        );

        const keyLine = keyPem.split("\n")[1]!;
        for (
          const [replica, hint] of [
            [none, "with --etcd-cert and --etcd-key"],
            [stranger, "must be signed by a CA in etcd's --trusted-ca-file"],
          ] as const
        ) {
          const ready = await httpGet(replica.port, "/readyz");
          assertEquals(ready.status, 503, ready.text);
          assert(/certificate/i.test(ready.text), ready.text);
          assert(ready.text.includes(hint), ready.text);
          assert(!/\n\s+at /.test(ready.text), `stack trace: ${ready.text}`);
          assert(!replica.log().includes(keyLine));
        }
        assert(!good.log().includes(keyLine));
      } finally {
        await good.kill();
        await none.kill();
        await stranger.kill();
      }
    } finally {
      http.close();
      await etcd.stop();
    }
  });
}
