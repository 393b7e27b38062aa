/* eslint-disable */
/**
 * Ignition config spec 3.3.0, as TypeScript types. GENERATED: do not edit; run `node tools/ignition-types.mjs`.
 *
 * Source: shared/schemas/ignition/ignition-v3_3.schema.json (sha256 1aa35a925f19140056a2e70723330e487c65660c497bdfa73dfd2d4dda0f2326)
 * Upstream: coreos/ignition@v2.26.0 (7e288edd9a337a45e8670c5da5ffa7e3b4269cbb) config/v3_3/schema/ignition.json
 * Generator: json-schema-to-typescript 15.0.4; type names follow Ignition's Go package config/v3_3/types.
 * License: Apache-2.0. NOTICE from coreos/ignition:
 *   CoreOS Project
 *   Copyright 2015 CoreOS, Inc
 *
 *   This product includes software developed at CoreOS, Inc.
 *   (http://www.coreos.com/).
 *
 * @see https://coreos.github.io/ignition/configuration-v3_3/
 */

export type HttpHeaders = HTTPHeader[];
export type File = Node & FileEmbedded1;
export type Directory = Node & DirectoryEmbedded1;
export type Link = Node & LinkEmbedded1;
export type KernelArgument = string;

export interface Config {
  ignition: Ignition;
  storage?: Storage;
  systemd?: Systemd;
  passwd?: Passwd;
  kernelArguments?: KernelArguments;
}
export interface Ignition {
  version?: string;
  config?: IgnitionConfig;
  timeouts?: Timeouts;
  security?: Security;
  proxy?: Proxy;
}
export interface IgnitionConfig {
  merge?: Resource[];
  replace?: Resource;
}
export interface Resource {
  source?: string | null;
  compression?: string | null;
  httpHeaders?: HttpHeaders;
  verification?: Verification;
}
export interface HTTPHeader {
  name: string;
  value?: string | null;
}
export interface Verification {
  hash?: string | null;
}
export interface Timeouts {
  httpResponseHeaders?: number | null;
  httpTotal?: number | null;
}
export interface Security {
  tls?: TLS;
}
export interface TLS {
  certificateAuthorities?: Resource[];
}
export interface Proxy {
  httpProxy?: string | null;
  httpsProxy?: string | null;
  noProxy?: (string | null)[];
}
export interface Storage {
  disks?: Disk[];
  raid?: Raid[];
  luks?: Luks[];
  filesystems?: Filesystem[];
  files?: File[];
  directories?: Directory[];
  links?: Link[];
}
export interface Disk {
  device: string;
  wipeTable?: boolean | null;
  partitions?: Partition[];
}
export interface Partition {
  label?: string | null;
  number?: number;
  sizeMiB?: number | null;
  startMiB?: number | null;
  typeGuid?: string | null;
  guid?: string | null;
  wipePartitionEntry?: boolean | null;
  shouldExist?: boolean | null;
  resize?: boolean | null;
}
export interface Raid {
  name: string;
  level?: string | null;
  spares?: number | null;
  devices?: string[];
  options?: string[];
}
export interface Luks {
  name: string;
  label?: string | null;
  uuid?: string | null;
  device?: string | null;
  keyFile?: Resource;
  wipeVolume?: boolean | null;
  clevis?: Clevis;
  options?: string[];
}
export interface Clevis {
  custom?: ClevisCustom;
  tpm2?: boolean | null;
  tang?: Tang[];
  threshold?: number | null;
}
export interface ClevisCustom {
  pin?: string | null;
  config?: string | null;
  needsNetwork?: boolean | null;
}
export interface Tang {
  url?: string;
  thumbprint?: string | null;
}
export interface Filesystem {
  path?: string | null;
  device: string;
  format?: string | null;
  options?: string[];
  mountOptions?: string[];
  wipeFilesystem?: boolean | null;
  label?: string | null;
  uuid?: string | null;
}
export interface Node {
  path: string;
  overwrite?: boolean | null;
  user?: NodeUser;
  group?: NodeGroup;
}
export interface NodeUser {
  id?: number | null;
  name?: string | null;
}
export interface NodeGroup {
  id?: number | null;
  name?: string | null;
}
export interface FileEmbedded1 {
  mode?: number | null;
  contents?: Resource;
  append?: Resource[];
}
export interface DirectoryEmbedded1 {
  mode?: number | null;
}
export interface LinkEmbedded1 {
  target?: string | null;
  hard?: boolean | null;
}
export interface Systemd {
  units?: Unit[];
}
export interface Unit {
  name: string;
  enabled?: boolean | null;
  mask?: boolean | null;
  contents?: string | null;
  dropins?: Dropin[];
}
export interface Dropin {
  name: string;
  contents?: string | null;
}
export interface Passwd {
  users?: PasswdUser[];
  groups?: PasswdGroup[];
}
export interface PasswdUser {
  name: string;
  passwordHash?: string | null;
  sshAuthorizedKeys?: string[];
  uid?: number | null;
  gecos?: string | null;
  homeDir?: string | null;
  noCreateHome?: boolean | null;
  primaryGroup?: string | null;
  groups?: string[];
  noUserGroup?: boolean | null;
  system?: boolean | null;
  noLogInit?: boolean | null;
  shell?: string | null;
  shouldExist?: boolean | null;
}
export interface PasswdGroup {
  name: string;
  gid?: number | null;
  passwordHash?: string | null;
  system?: boolean | null;
  shouldExist?: boolean | null;
}
export interface KernelArguments {
  shouldExist?: KernelArgument[];
  shouldNotExist?: KernelArgument[];
}
