"""What every test shares: the caches of decoded blocks (sources.cache, on by default for streamed
files) go to a folder of the test session, never to the developer's temporary or cache folder."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def _block_caches_in_the_session_folder(tmp_path_factory):
    from neuronlab.sources.cache import FOLDER_VARIABLE

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(FOLDER_VARIABLE, str(tmp_path_factory.mktemp("block-caches")))
        yield
