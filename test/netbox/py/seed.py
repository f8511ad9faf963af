# Seeds users, API tokens, permissions and a few base objects from
# test/netbox/seed.json into a migrated NetBox database. Run once by
# scripts/setup-netbox.sh inside `netbox shell -c` (each `netbox` command pays
# Django's start-up, 5-16 s here), so everything happens in this one call.
import json
import os

from django.db import transaction

from core.models import ObjectType
from dcim.models import DeviceRole, DeviceType, Manufacturer, Site
from extras.models import Tag
from users.models import ObjectPermission, Token, User


def _token(user, version, **fields):
    token = Token(user=user, version=version, **fields)
    # full_clean() runs the version-dependent check constraint and, for v2,
    # the pepper lookup before anything is written.
    token.full_clean()
    token.save()


with open(os.environ['WG_NETBOX_SEED']) as f:
    seed = json.load(f)

with transaction.atomic():
    for name, spec in seed['users'].items():
        user = User.objects.create_user(username=name, is_superuser=spec['superuser'])
        _token(user, 1, token=spec['tokens']['v1'], description='writegate tests (v1)')
        v2 = spec['tokens']['v2']
        _token(user, 2, key=v2['key'], token=v2['secret'], description='writegate tests (v2)')
        for perm in spec['permissions']:
            permission = ObjectPermission.objects.create(name=perm['name'], actions=perm['actions'])
            permission.object_types.set(
                ObjectType.objects.get_by_natural_key(*label.split('.')) for label in perm['objectTypes']
            )
            permission.users.add(user)

    objects = seed['objects']
    Site.objects.create(**objects['site'])
    manufacturer = Manufacturer.objects.create(**objects['manufacturer'])
    DeviceType.objects.create(manufacturer=manufacturer, **objects['deviceType'])
    DeviceRole.objects.create(**objects['deviceRole'])
    Tag.objects.create(**objects['tag'])

print('seeded: ' + ', '.join(sorted(seed['users'])))
