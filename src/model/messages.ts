/** The only texts the firewall's own responses carry: nothing internal ever reaches a client. */
export const PUBLIC_MESSAGES = {
  badRequest: "Bad request.",
  unauthorized: "Unauthorized.",
  forbidden: "Forbidden.",
  unavailable: "Service temporarily unavailable.",
} as const;
