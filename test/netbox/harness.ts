// The real NetBox harness lives in sim/netbox/real.ts, where `writegate demo` loads it too (see test/netbox/README.md).
export {
  authorization, netboxInstalled, netboxTools, SEED, startNetBox,
  type NetBox, type NetBoxOptions, type NetBoxTokens, type NetBoxTools, type NetBoxUser,
} from '../../sim/netbox/real.js';
