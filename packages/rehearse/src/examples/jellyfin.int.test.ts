import { expectSyncedPlacedDrained } from './test-example';

jest.setTimeout(600_000);

it('syncs, places and drains the jellyfin example', () => expectSyncedPlacedDrained('jellyfin'));
