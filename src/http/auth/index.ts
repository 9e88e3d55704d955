export {
  CDS_JWT_ALGORITHMS,
  isAcceptedAlgorithm,
  keyFitsAlgorithm,
  type CdsJwtAlgorithm,
} from "./algorithms.js";
export { checkCdsClaims, type ClaimExpectations, type ClaimRefusal } from "./claims.js";
export { JwksCache, parseJwks, type KeyLookup } from "./jwks-cache.js";
export {
  bearerTokenOf,
  createCdsAuthCore,
  sendUnauthorized,
  type CdsAuthCoreOptions,
} from "./middleware.js";
export { setVerifiedClient, verifiedClientOf, type VerifiedCdsClient } from "./verified-client.js";
export {
  verifyCdsToken,
  type AuthRefusal,
  type ReplayGuard,
  type VerifyOutcome,
} from "./verify.js";
export { checkAuthAtStartup } from "./startup.js";
