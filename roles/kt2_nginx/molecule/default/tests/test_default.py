"""kt2_nginx: TLS 1.2/1.3 only with the environment's certificate, HTTP redirects, only listed paths."""

PROBE = """
import ssl, socket, sys, urllib.request
ctx = ssl.create_default_context(cafile='/etc/kt2ops/tls/ca.crt')
if sys.argv[1] != 'any':
    ctx.minimum_version = ctx.maximum_version = getattr(ssl.TLSVersion, sys.argv[1])
try:
    with socket.create_connection(('127.0.0.1', 443)) as raw, ctx.wrap_socket(raw, server_hostname='molenv.koppeltaal.test') as t:
        t.sendall(b'GET ' + sys.argv[2].encode() + b' HTTP/1.1\\r\\nHost: molenv.koppeltaal.test\\r\\nConnection: close\\r\\n\\r\\n')
        print(t.version(), t.recv(100).decode().split('\\r\\n')[0])
except ssl.SSLError as e:
    print('refused', e.reason)
"""


def _probe(host, version, path="/"):
    return host.run(f"python3 -c \"{PROBE}\" {version} {path}").stdout.strip()


def test_tls13_with_the_environment_certificate(host):
    assert _probe(host, "any", "/_contract/health") == "TLSv1.3 HTTP/1.1 200 OK"


def test_tls12_accepted_and_tls11_refused(host):
    assert _probe(host, "TLSv1_2").startswith("TLSv1.2 HTTP/1.1 404")
    assert _probe(host, "TLSv1_1").startswith("refused")


def test_only_listed_paths_are_published(host):
    assert _probe(host, "any", "/_contract/apps").endswith("404 Not Found")


def test_plain_http_redirects(host):
    out = host.run("python3 -c \"import http.client; c = http.client.HTTPConnection('127.0.0.1', 80); "
                   "c.request('GET', '/x', headers={'Host': 'molenv.koppeltaal.test'}); r = c.getresponse(); "
                   "print(r.status, r.getheader('Location'))\"")
    assert out.stdout.strip() == "301 https://molenv.koppeltaal.test/x"


def test_default_site_removed(host):
    assert not host.file("/etc/nginx/sites-enabled/default").exists
