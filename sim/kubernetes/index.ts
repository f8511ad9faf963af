export { startKubeSim, type KubeSim, type KubeSimOptions, type SimRequest } from './server.js';
export { KubeStore, type KubeObject, type StoreEvent } from './store.js';
export { RESOURCES, type ResourceDef } from './resources.js';
