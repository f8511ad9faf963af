# NetBox configuration for writegate's tests: scripts/setup-netbox.sh (migrate,
# seed) and test/netbox/harness.ts (one NetBox per test file) copy this file to
# <NETBOX_ROOT>/conf/configuration.py, where a wheel install looks for it
# (netbox/settings_utils.py load_configuration). What changes per run (ports,
# the mount) comes from the environment the script or the harness sets.
import os

ALLOWED_HOSTS = ['*']

DATABASES = {
    'default': {
        'ENGINE': 'django.db.backends.postgresql',
        'NAME': os.environ.get('WG_NETBOX_DB_NAME', 'netbox'),
        # A throwaway cluster on loopback, initialised with --auth=trust.
        'USER': 'postgres',
        'PASSWORD': '',
        'HOST': '127.0.0.1',
        'PORT': os.environ['WG_NETBOX_DB_PORT'],
        'CONN_MAX_AGE': 300,
        # reset() drops and recreates the database under a running server
        # (DROP DATABASE ... WITH (FORCE) ends every session): Django checks a
        # persistent connection before reusing it instead of failing the request.
        'CONN_HEALTH_CHECKS': True,
    }
}

_redis = {
    'HOST': '127.0.0.1',
    'PORT': int(os.environ['WG_NETBOX_REDIS_PORT']),
    'USERNAME': '',
    'PASSWORD': '',
    'SSL': False,
}
REDIS = {
    'tasks': {**_redis, 'DATABASE': 0},
    'caching': {**_redis, 'DATABASE': 1},
}

# Constant on purpose: the cached database dump holds users and tokens, and v2
# tokens are stored as an HMAC keyed by the pepper (users/models/tokens.py), so
# a dump only works with the pepper it was seeded with. setup-netbox.sh keys
# its cached dump by this line.
API_TOKEN_PEPPERS = {1: 'EbEG0XzB3lv9cdpmcEPVxrvcuEuR3RYNh429IdW4pb3YgHD1gC6bFRmPCX0B'}
SECRET_KEY = 'eUN10imPFdfTAMS50RCiTufSAZ9VQaiTXxAVccp0uNViiAKV2ZIfK9cVuGAw'

# NetBox serves every route under BASE_PATH (netbox/urls.py), so a gateway that
# mounts NetBox at /netbox and forwards the path unchanged reaches it at the
# same path, and every absolute URL NetBox builds carries the mount.
BASE_PATH = os.environ.get('WG_NETBOX_BASE_PATH', '')

# No phone-home from a test machine.
CENSUS_REPORTING_ENABLED = False
ISOLATED_DEPLOYMENT = True
RELEASE_CHECK_URL = None

