// dedb tables as the CM's Liquibase changelog leaves them at v7.3.0
// (CM: src/main/resources/db/changelog/changes/*.yaml: 20211116000002-create-schema,
// 20220527000003-plugin-data, 20220613000002 (uuid id + bundle_code), 20220613000003 (unique
// bundle_code), 20220621000001/20220627000001 (plugin_data roles, custom_endpoint),
// 20220630000001 (component_data), 20220707000001 (pbc_list; plugin_id dropped), 20220718000001
// (ext), 20220902000001 (docker_tag, docker_sha256), 20230104000001 (image_digest),
// 20230620000001/20230717000001 (uninstall_* columns)). Created only when absent.
// One column per line: db.ts reads the column names from these statements.

type Dialect = 'postgresql' | 'mysql' | 'file';

export const TABLES = {
  bundles: 'installed_entando_bundles',
  jobs: 'entando_bundle_jobs',
  componentJobs: 'entando_bundle_component_jobs',
  plugins: 'plugin_data',
  components: 'component_data',
  hubRegistry: 'entando_hub_registry',
} as const;

export function schemaDdl(dialect: Dialect): string[] {
  const text = dialect === 'mysql' ? 'LONGTEXT' : 'TEXT';
  const ts = dialect === 'mysql' ? 'DATETIME(3)' : 'TIMESTAMP';
  const dbl = dialect === 'mysql' ? 'DOUBLE' : 'DOUBLE PRECISION';
  const bool = 'BOOLEAN';
  return [
    `CREATE TABLE IF NOT EXISTS ${TABLES.jobs} (
id VARCHAR(36) NOT NULL,
component_id VARCHAR(255),
component_name VARCHAR(255),
component_version VARCHAR(64),
started_at ${ts},
finished_at ${ts},
user_id VARCHAR(255),
status VARCHAR(35),
progress ${dbl},
install_error_code INT,
install_error_message ${text},
rollback_error_code INT,
rollback_error_message ${text},
install_plan ${text},
custom_installation ${bool},
uninstall_error_code INT,
uninstall_error_message ${text},
uninstall_errors VARCHAR(4000),
CONSTRAINT PK_ENT_BUN_JOBS_E7 PRIMARY KEY (id)
)`,
    `CREATE TABLE IF NOT EXISTS ${TABLES.componentJobs} (
id VARCHAR(36) NOT NULL,
parent_entando_bundle_job_id VARCHAR(36),
component_id VARCHAR(255),
checksum VARCHAR(64),
status VARCHAR(35),
component_type VARCHAR(35),
started_at ${ts},
finished_at ${ts},
action VARCHAR(16),
install_error_code INT,
install_error_message ${text},
rollback_error_code INT,
rollback_error_message ${text},
uninstall_error_code INT,
uninstall_error_message ${text},
CONSTRAINT PK_ENT_BUN_COM_JOBS_E7 PRIMARY KEY (id)
)`,
    `CREATE TABLE IF NOT EXISTS ${TABLES.bundles} (
id VARCHAR(36) NOT NULL,
bundle_code VARCHAR(255) NOT NULL,
description VARCHAR(255),
image ${text},
installed ${bool},
job_id VARCHAR(36),
last_update ${ts},
metadata VARCHAR(255),
name VARCHAR(255),
rating FLOAT,
signature VARCHAR(255),
type VARCHAR(255),
version VARCHAR(255),
bundle_type VARCHAR(64),
repo_url VARCHAR(511),
pbc_list VARCHAR(1023),
ext VARCHAR(4000),
image_digest CHAR(72),
CONSTRAINT PK_INS_ENT_BUN_E7 PRIMARY KEY (id),
CONSTRAINT UK_INS_ENT_BUN_CODE UNIQUE (bundle_code)
)`,
    `CREATE TABLE IF NOT EXISTS ${TABLES.hubRegistry} (
id VARCHAR(36) NOT NULL,
name VARCHAR(127),
url VARCHAR(511),
api_key VARCHAR(255),
CONSTRAINT PK_ENT_HUB_REG_E7 PRIMARY KEY (id)
)`,
    `CREATE TABLE IF NOT EXISTS ${TABLES.plugins} (
id VARCHAR(36) NOT NULL,
bundle_id CHAR(8),
plugin_name VARCHAR(255),
plugin_code VARCHAR(255),
endpoint VARCHAR(255),
custom_endpoint VARCHAR(255),
roles VARCHAR(4000),
docker_tag VARCHAR(64),
docker_sha256 CHAR(72),
CONSTRAINT PK_ENT_PLU_API_E7 PRIMARY KEY (id)
)`,
    `CREATE TABLE IF NOT EXISTS ${TABLES.components} (
id VARCHAR(36) NOT NULL,
bundle_id CHAR(8),
component_type VARCHAR(35),
component_sub_type VARCHAR(35),
component_id VARCHAR(255),
component_name VARCHAR(255),
component_code VARCHAR(255),
component_group VARCHAR(255),
component_descriptor VARCHAR(4000),
CONSTRAINT PK_ENT_COMP_DATA_E7 PRIMARY KEY (id)
)`,
  ];
}
