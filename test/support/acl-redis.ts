/**
 * A real redis-server with the edge's and the responders' ACL users as `containment acl` prints
 * them (src/ops/redis-acl.ts): an ioredis client logged in as the edge (what an attacker holding
 * the edge's token can do) and the responders' real TCP client.
 */
import { Redis as IoRedis } from "ioredis";
import type { ResponderRedis } from "../../src/model/responder-redis.js";
import { aclRules } from "../../src/ops/redis-acl.js";
import { tcpRedis } from "../../src/ops/redis-tcp.js";
import { type RedisServer, startRedisServer } from "./redis-server.js";

export interface AclRedis {
  server: RedisServer;
  admin: IoRedis;
  edge: IoRedis;
  responder: ResponderRedis;
}

export async function startAclRedis(prefix = "containment:"): Promise<AclRedis> {
  const server = await startRedisServer();
  const admin = new IoRedis({ port: server.port, host: "127.0.0.1" });
  for (const role of ["edge", "responder"] as const)
    await admin.call("ACL", "SETUSER", `containment-${role}`, ...aclRules(role, prefix, `${role}-pw`));
  const edge = new IoRedis({
    port: server.port,
    host: "127.0.0.1",
    username: "containment-edge",
    password: "edge-pw",
    maxRetriesPerRequest: 0,
    enableReadyCheck: false,
  });
  edge.on("error", () => {});
  const responder = await tcpRedis(`redis://containment-responder:responder-pw@127.0.0.1:${server.port}`);
  return { server, admin, edge, responder };
}
