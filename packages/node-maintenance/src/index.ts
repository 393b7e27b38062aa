export { KuredRebootCoordinator, KURED_CHART } from './kured';
export type { KuredRebootCoordinatorProps, KuredValues } from './kured';
