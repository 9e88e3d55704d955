// Global test set-up. The PostgreSQL part (a throw-away cluster when TEST_DATABASE_URL is unset)
// is added with the storage layer.
export default function setup(): void {
  process.env.TZ = "UTC";
}
