export { LocalEtcdCluster, LocalEtcdMember } from './local-etcd-cluster';
export type { LocalEtcdClusterOptions, LocalEtcdAddresses, LocalEtcdMemberCertificates, StartMemberOptions } from './local-etcd-cluster';
export { killLeaderWhileWriting } from './leader-failover';
export type { LeaderFailoverOptions, LeaderFailoverResult } from './leader-failover';
