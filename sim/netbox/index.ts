export { NETBOX_VERSION, startNetboxSim, type NetboxSim, type NetboxSimOptions, type SimRequest } from './server.js';
export { DEFAULT_SEED, SEED_SLUGS, SEED_TOKENS, type NbSeed, type NbUserSeed } from './seed.js';
export { MODELS, type ModelKey, type ModelSpec } from './models.js';
export { NbState, type NbPermission, type NbRecord, type NbToken, type NbUser } from './store.js';
