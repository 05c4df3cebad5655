"""kt2_nginx: TLS 1.2/1.3 only with the environment's certificate, HTTP redirects, only listed paths."""

PROBE = """
import http.client, ssl, socket, sys, threading, warnings
warnings.simplefilter('ignore', DeprecationWarning)
version, path, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if port != 443:  # the positive twin: a server on the host that still takes TLS 1.1, with the same certificate
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain('/etc/kt2ops/tls/fullchain.pem', '/etc/kt2ops/tls/server.key')
    server_ctx.minimum_version = ssl.TLSVersion.TLSv1_1
    server_ctx.set_ciphers('DEFAULT:@SECLEVEL=0')
    listener = socket.create_server(('127.0.0.1', port))
    def serve():
        conn, _ = listener.accept()
        with server_ctx.wrap_socket(conn, server_side=True) as tls:
            tls.recv(1000); tls.sendall(b'HTTP/1.1 204 No Content\\r\\n\\r\\n')
    threading.Thread(target=serve, daemon=True).start()
ctx = ssl.create_default_context(cafile='/etc/kt2ops/tls/ca.crt')
if version != 'any':
    # OpenSSL 3 offers TLS 1.1 only at security level 0: without this the client would refuse by itself.
    ctx.set_ciphers('DEFAULT:@SECLEVEL=0')
    ctx.minimum_version = ctx.maximum_version = getattr(ssl.TLSVersion, version)
try:
    with socket.create_connection(('127.0.0.1', port)) as raw, ctx.wrap_socket(raw, server_hostname='molenv.koppeltaal.test') as t:
        t.sendall(b'GET ' + path.encode() + b' HTTP/1.1\\r\\nHost: molenv.koppeltaal.test\\r\\nConnection: close\\r\\n\\r\\n')
        answer = http.client.HTTPResponse(t)
        answer.begin()
        print(t.version(), 'HTTP/1.1', answer.status, answer.reason)
        print(answer.read().decode())
except ssl.SSLError as e:
    print('refused', e.reason)
"""


def _exchange(host, version, path="/", port=443) -> tuple[str, str]:
    """The TLS version and the status line (or "refused" and the TLS alert), and the body."""
    line, _, body = host.run(f"python3 -c \"{PROBE}\" {version} {path} {port}").stdout.partition("\n")
    return line.strip(), body


def _probe(host, version, path="/", port=443) -> str:
    return _exchange(host, version, path, port)[0]


def test_tls13_with_the_environment_certificate(host):
    assert _probe(host, "any", "/_contract/health") == "TLSv1.3 HTTP/1.1 200 OK"


def test_tls12_accepted_and_tls11_refused(host):
    assert _probe(host, "TLSv1_2").startswith("TLSv1.2 HTTP/1.1 404")
    # The same client does offer TLS 1.1: a server that takes it answers over TLS 1.1; nginx refuses it, and for
    # the version (its protocol_version alert), not for the certificate or a cipher.
    assert _probe(host, "TLSv1_1", port=8443) == "TLSv1.1 HTTP/1.1 204 No Content"
    assert _probe(host, "TLSv1_1") == "refused TLSV1_ALERT_PROTOCOL_VERSION"


def test_only_listed_paths_are_published(host):
    # An unlisted path is nginx's own 404 (its error page), not the upstream's: the application service behind
    # /_contract/health would answer /_contract/apps with a 404 of its own ("Not Found") if nginx passed it on.
    line, body = _exchange(host, "any", "/_contract/apps")
    assert line == "TLSv1.3 HTTP/1.1 404 Not Found" and "<hr><center>nginx</center>" in body
    # The twin: the listed path is passed on, and the upstream answers it.
    line, body = _exchange(host, "any", "/_contract/health")
    assert line == "TLSv1.3 HTTP/1.1 200 OK" and '"service":"kt2-app-service"' in body


def test_plain_http_redirects(host):
    out = host.run("python3 -c \"import http.client; c = http.client.HTTPConnection('127.0.0.1', 80); "
                   "c.request('GET', '/x', headers={'Host': 'molenv.koppeltaal.test'}); r = c.getresponse(); "
                   "print(r.status, r.getheader('Location'))\"")
    assert out.stdout.strip() == "301 https://molenv.koppeltaal.test/x"


def test_default_site_removed(host):
    assert not host.file("/etc/nginx/sites-enabled/default").exists
