"""The hook for relationship-network features (the relationship crawler: shared owners,
partners, suppliers, buyers). Risk control builds the network; scoring may not import it (it
sits to the right), so it plugs in through a setting, the way the credit pipeline names its stages:

    SCORING_NETWORK_FEATURES = "riskcontrol.network.features_as_of"

The callable takes `(merchant_ids: list[int], as_of: datetime.date)` and returns a DataFrame
indexed by merchant id with columns from `compute.NETWORK_FEATURES`, computed only from links
known before `as_of`. Unset (today), every network feature is NaN.
"""

import datetime as dt

import pandas as pd
from django.conf import settings
from django.utils.module_loading import import_string


def network_features(merchant_ids: list[int], as_of: dt.date) -> pd.DataFrame | None:
    path = getattr(settings, "SCORING_NETWORK_FEATURES", None)
    if not path:
        return None
    return import_string(path)(merchant_ids, as_of)
