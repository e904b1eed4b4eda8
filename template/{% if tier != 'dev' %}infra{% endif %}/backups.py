"""The backup bucket: private, old dumps expire, and a Spaces key that reaches only this bucket."""

import pulumi
import pulumi_digitalocean as digitalocean

import tier


def backup_bucket() -> dict[str, pulumi.Input[str]]:
    """The bucket and its key; returns the backup settings the app's environment needs."""
    bucket = digitalocean.SpacesBucket(
        "backups",
        name=tier.BACKUP_BUCKET,
        region=tier.REGION,
        acl="private",
        # backup.sh deletes dumps past the retention itself; this catches any it missed.
        lifecycle_rules=[
            digitalocean.SpacesBucketLifecycleRuleArgs(
                enabled=True,
                prefix=f"{tier.PROJECT}/",
                expiration=digitalocean.SpacesBucketLifecycleRuleExpirationArgs(
                    days=tier.BACKUP_RETENTION_DAYS + 1
                ),
            )
        ],
    )
    key = digitalocean.SpacesKey(
        "backups-key",
        name=f"{tier.PROJECT}-backups",
        grants=[digitalocean.SpacesKeyGrantArgs(bucket=bucket.name, permission="readwrite")],
    )
    return {
        "S3_ENDPOINT_URL": f"https://{tier.REGION}.digitaloceanspaces.com",
        "S3_REGION": tier.REGION,
        "S3_BUCKET": bucket.name,
        "S3_ACCESS_KEY_ID": key.access_key,
        "S3_SECRET_ACCESS_KEY": pulumi.Output.secret(key.secret_key),
    }
