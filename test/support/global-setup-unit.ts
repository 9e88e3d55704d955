/** Set-up of the `unit` test project: UTC, as for every test; no database server. */
export default function setup(): void {
  process.env.TZ = "UTC";
}
