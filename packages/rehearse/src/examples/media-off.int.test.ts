import { expectSyncedPlacedDrained } from './test-example';

jest.setTimeout(600_000);

it('syncs, places and drains the media-off example', () => expectSyncedPlacedDrained('media-off'));
