/**
 * `edge-containment/dashboard`: the read-only dashboard handler a team mounts in its own app
 * (Next.js App Router, Node or edge runtime), and the JSON API's types.
 */
export type * from "./api.js";
export { API_VERSION } from "./api.js";
export {
  type AuthorizeResult,
  createDashboardHandler,
  type DashboardHandler,
  type DashboardHandlerOptions,
} from "./handler.js";
