# The Node SDK's context shape (camelCase), as the Python SDK spells it: shared by the
# Python oracles (flags.py, events.py).

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
