# What every environment shares: one image repository per function. dev and prod run images from these
# repositories by digest, so promoting an image to prod is a change of prod's image_uri variables, not a rebuild.

module "ecr" {
  source   = "../../modules/ecr"
  for_each = toset(["ingest", "report"])

  name                    = "${var.repository_prefix}/${each.key}"
  image_tag_mutability    = var.image_tag_mutability
  untagged_images_to_keep = var.untagged_images_to_keep
  force_delete            = var.force_delete
}
