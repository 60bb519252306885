"""What every test shares: the caches of decoded blocks (sources.cache, on by default for streamed
files) go to a folder of the test session, never to the developer's temporary or cache folder, and
write whatever the disk's free space (the tests' data are small)."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def _block_caches_in_the_session_folder(tmp_path_factory):
    from neuronlab.sources import cache

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(cache.FOLDER_VARIABLE, str(tmp_path_factory.mktemp("block-caches")))
        patch.setattr(cache, "KEEP_FREE_BYTES", 0)
        patch.setattr(cache, "KEEP_FREE_SHARE", 0.0)
        yield
