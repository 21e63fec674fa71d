"""Files that travel with answers (photos, videos, documents) and citizens' own photos.

`checks` decides what a file is from its bytes (never its name), enforces the size limits and
decodes images with Pillow (bombs, truncated and disguised files are refused) and strips the
location from their EXIF unless it is kept on purpose; `store` keeps the accepted bytes
content-addressed under `var/attachments/`. Who may add, remove and read them is decided in
otklik/services/access.py; the service functions are in otklik/services/attachments.py.
"""
