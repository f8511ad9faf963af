export { API_PREFIX, DEFAULT_TOKEN, startCloudflareSim, tokenId, type CloudflareSim, type CloudflareSimOptions, type SimRequest } from './server.js';
export { CLOUDFLARE_MANAGED_RULESET, DEFAULT_SEED, SEED_IDS, type CfSeed, type SeedRecord, type SeedZone } from './seed.js';
export { CfState, type Account, type AccessApp, type DnsRecord, type FirewallRule, type PageRule, type Ruleset, type RulesetRule, type WorkerRoute, type Zone } from './store.js';
export type { CfKey, CfToken } from './auth.js';
export type { CfErrorItem, Envelope, ResultInfo } from './envelope.js';
