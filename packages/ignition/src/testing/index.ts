export { applyIgnition, applyIgnitionPresets, IgnitionRunError, IGNITION_PRESET_FILE } from './apply-ignition';
export type { ApplyIgnitionInput, ApplyIgnitionOptions, AppliedIgnition, PresetResult } from './apply-ignition';
export { DEFAULT_IGNITION_BINARY } from './binaries';
export { startConfigServer } from './config-server';
export type { ConfigServer, ConfigServerOptions } from './config-server';
export { runIgnitionValidate } from './ignition-validate';
export type { IgnitionValidateResult } from './ignition-validate';
export { systemdAnalyzeVerify } from './systemd-analyze';
export type { SystemdAnalyzeVerifyOptions, SystemdAnalyzeVerifyResult } from './systemd-analyze';
