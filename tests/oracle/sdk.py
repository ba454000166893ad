# What the Python oracles (flags.py, events.py) start with, as sdk.js for the Node ones: the
# SDK's network answer for a network client of their own (so no request leaves the process),
# and the Node SDK's context shape (camelCase) as the Python SDK spells it.
from wingify.packages.network_layer.models.response_model import ResponseModel


def ok(data):
    """A 200 answer holding `data`, as the SDK's network client returns one."""
    response = ResponseModel()
    response.set_status_code(200)
    response.set_total_attempts(0)
    response.set_data(data)
    return response


RENAMED = {
    "customVariables": "custom_variables",
    "variationTargetingVariables": "variation_targeting_variables",
    "userAgent": "user_agent",
    "ipAddress": "ip_address",
    "postSegmentationVariables": "post_segmentation_variables",
    "sessionId": "session_id",
    "platformVariables": "platform_variables",
}


def python_context(context):
    renamed = {RENAMED.get(key, key): value for key, value in context.items()}
    platform = renamed.get("platform_variables")
    if isinstance(platform, dict) and "webTestingCampaigns" in platform:
        platform = dict(platform)
        platform["web_testing_campaigns"] = platform.pop("webTestingCampaigns")
        renamed["platform_variables"] = platform
    return renamed
