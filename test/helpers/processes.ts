// The process helpers moved to sim/netbox/processes.ts, where `writegate demo` can load them with the real NetBox.
export { signalGroup, stopGroup, supervise, waitFor, type Supervised, type SuperviseOptions } from '../../sim/netbox/processes.js';
