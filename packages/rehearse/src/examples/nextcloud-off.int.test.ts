import { expectSyncedPlacedDrained } from './test-example';

jest.setTimeout(600_000);

it('syncs, places and drains the nextcloud-off example', () => expectSyncedPlacedDrained('nextcloud-off'));
