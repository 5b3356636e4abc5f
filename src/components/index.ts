import type { Component } from './component.js';
import { resourcesComponent } from './resources/index.js';
import { databasesComponent } from './databases/index.js';
import { filesComponent } from './files/index.js';
import { keycloakComponent } from './keycloak/index.js';
import { bundlesComponent } from './bundles/index.js';

/**
 * Every component, in backup order. Later ones (databases, files, keycloak, bundles) are added
 * here; the orchestrators never name a component.
 */
export const COMPONENTS: readonly Component[] = [
  resourcesComponent,
  databasesComponent,
  filesComponent,
  keycloakComponent,
  bundlesComponent,
];
