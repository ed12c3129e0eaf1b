/**
 * What both corpus tests need: keys and a JWKS, the canary origin, the rules with the JWKS URL
 * filled in, and the two targets (`containment dev` over raw sockets; the middleware in-process).
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JWK } from "jose";
import { createMiddleware } from "../../src/adapters/vercel.js";
import { applyMiddlewareAnswer } from "../../src/dev/forward.js";
import { memoryStore } from "../../src/stores/memory.js";
import { type EchoUpstream, startEchoUpstream } from "../support/echo-upstream.js";
import { type JwksServer, startJwksServer } from "../support/jwks-server.js";
import { CORPUS_DIR, CORPUS_SECRET, type Step, type Target, type TokenKeys } from "./runner.js";

export const NORMALIZE = { basePath: "/docs", locales: ["en", "de"] } as const;

export interface CorpusFixture {
  keys: TokenKeys;
  jwks: JwksServer;
  canary: EchoUpstream;
  rules: unknown;
  rulesFile: string;
  close(): Promise<void>;
}

function rsa(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync("rsa", { modulusLength: 2048 });
}

export async function startFixture(): Promise<CorpusFixture> {
  const [own, stranger, attacker] = [rsa(), rsa(), rsa()];
  const publicJwk = {
    ...(own.publicKey.export({ format: "jwk" }) as JWK),
    kid: "corpus-1",
    alg: "RS256",
    use: "sig",
  };
  const attackerJwk = { ...(attacker.publicKey.export({ format: "jwk" }) as JWK), kid: "attacker-1" };
  const jwks = await startJwksServer([publicJwk]);
  const canary = await startEchoUpstream();
  const text = readFileSync(join(CORPUS_DIR, "rules.json"), "utf8").replace("JWKS_URL", jwks.url("corpus"));
  const rulesFile = join(mkdtempSync(join(tmpdir(), "containment-corpus-")), "rules.json");
  writeFileSync(rulesFile, text);
  return {
    keys: {
      rsaPrivate: own.privateKey,
      rsaPublicPem: own.publicKey.export({ format: "pem", type: "spki" }).toString(),
      strangerPrivate: stranger.privateKey,
      attackerPrivate: attacker.privateKey,
      attackerJwk,
    },
    jwks,
    canary,
    rules: JSON.parse(text),
    rulesFile,
    async close() {
      await canary.close();
      await jwks.close();
    },
  };
}

/** Headers the platform owns: a client's copies never reach the middleware (as the front server does). */
function platformOwned(name: string): boolean {
  return name === "x-real-ip" || name === "x-forwarded-for" || name.startsWith("x-vercel-");
}

/**
 * The middleware in this process, with the runner playing the platform: client copies of
 * platform headers dropped, `x-real-ip` set to the (loopback) client address, a fresh memory store.
 */
export function nodeTarget(fixture: CorpusFixture): Target {
  const middleware = createMiddleware({
    rules: fixture.rules,
    redis: memoryStore(),
    mirror: false,
    env: { CORPUS_SECRET },
    normalize: { ...NORMALIZE, clientIp: { trusted: true } },
    onReport: () => {},
  });
  return {
    name: "node",
    served: () => fixture.canary.hits(),
    async send(step: Step, headers) {
      const space = step.request.indexOf(" ");
      const method = step.request.slice(0, space);
      const target = step.request.slice(space + 1);
      const list = new Headers();
      for (const [name, value] of headers) if (!platformOwned(name.toLowerCase())) list.append(name, value);
      list.set("x-real-ip", step.from ?? "127.0.0.1");
      // The URL's authority is fixed; the Host header (repeated or malformed) reaches the middleware as sent.
      if (!list.has("host")) list.set("host", "app.corpus.test");
      const hasBody = step.body !== undefined && method !== "GET" && method !== "HEAD";
      const request = new Request(`http://app.corpus.test${target}`, {
        method,
        headers: list,
        ...(hasBody ? { body: step.body } : {}),
      });
      const answer = await middleware(request);
      const response = await applyMiddlewareAnswer(request, answer, { upstream: fixture.canary.url });
      const body = method === "HEAD" ? "" : await response.text();
      return { status: response.status, headers: Object.fromEntries(response.headers), body };
    },
  };
}
