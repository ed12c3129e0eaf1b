/** A JSON value, as Edge Config items and rules documents hold them. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
