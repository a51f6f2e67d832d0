"""``seedchain node``'s configuration file (``seedchain.conffile``): format, precedence
(command line, then environment, then file, then default) and one-line errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from node.config import HostPort, NodeConfig
from seedchain.cli import CommandError, main, parse_args
from seedchain.cmd_node import build_config
from seedchain.cmd_pool import build_config as build_pool_config
from seedchain.conffile import MAX_CONF_BYTES, ConfFileError, parse_conf
from tests.framework.factory import Key


@pytest.fixture(autouse=True)
def no_seedchain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("SEEDCHAIN_")]:
        monkeypatch.delenv(key)


def config(datadir: Path, *extra: str) -> NodeConfig:
    argv = ["node", "--network", "regtest", "--datadir", str(datadir), *extra]
    return build_config(parse_args(argv))


def write_conf(datadir: Path, text: str) -> Path:
    path = datadir / "seedchain.conf"
    path.write_text(text)
    return path


def test_sections_override_the_top_key_by_key() -> None:
    text = """
        # a comment
        cache-mb = 256   # trailing comment
        mempool-mb = 32
        [regtest]
        cache-mb = 16
        [main]
        cache-mb = 1024
    """
    regtest = parse_conf(text, "regtest")
    assert {k: [s.value for s in v] for k, v in regtest.items()} == {
        "cache-mb": ["16"],
        "mempool-mb": ["32"],
    }
    assert [s.value for s in parse_conf(text, "main")["cache-mb"]] == ["1024"]
    assert [s.line for s in parse_conf(text, "test")["cache-mb"]] == [3]


def test_a_line_without_equals_is_refused() -> None:
    with pytest.raises(ConfFileError, match=r"x.conf line 2: expected key = value"):
        parse_conf("cache-mb = 1\njust words\n", "regtest", "x.conf")


def test_the_file_fills_in_what_nothing_else_set(tmp_path: Path) -> None:
    write_conf(
        tmp_path,
        "cache-mb = 256\npeer = 127.0.0.1:9000\npeer = 127.0.0.1:9001\n"
        "no-persist-mempool = yes\nno-listen = 1\nmax-outbound = 2\n"
        "whitelist = 127.0.0.0/8\nwhitelist = 10.1.0.0/16\n"
        "[regtest]\nmax-inbound = 5\nlog-level = DEBUG\n",
    )
    cfg = config(tmp_path)
    assert cfg.cache_mb == 256
    assert cfg.peers == (HostPort("127.0.0.1", 9000), HostPort("127.0.0.1", 9001))
    assert cfg.persist_mempool is False
    assert cfg.listen is False
    assert (cfg.max_outbound, cfg.max_inbound) == (2, 5)
    assert cfg.log_level == "debug"
    assert cfg.whitelist == ("127.0.0.0/8", "10.1.0.0/16")
    assert config(tmp_path / "elsewhere").cache_mb == 128  # no file there: the default


def test_command_line_then_environment_then_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_conf(tmp_path, "cache-mb = 256\nmempool-mb = 32\npersist-mempool = 0\nmax-inbound = 5\n")
    monkeypatch.setenv("SEEDCHAIN_MEMPOOL_MB", "48")
    monkeypatch.setenv("SEEDCHAIN_MAX_INBOUND", "")  # empty counts as unset
    cfg = config(tmp_path, "--cache-mb", "99", "--persist-mempool")
    assert cfg.cache_mb == 99  # the command line wins
    assert cfg.persist_mempool is True
    assert cfg.mempool_mb == 48  # then the environment
    assert cfg.max_inbound == 5  # then the file


def test_an_explicit_conf_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "node.conf"
    conf.write_text("[regtest]\nstall-timeout = 2.5\n")
    assert config(tmp_path / "data", "--conf", str(conf)).stall_timeout == 2.5
    monkeypatch.setenv("SEEDCHAIN_CONF", str(conf))
    assert config(tmp_path / "data").stall_timeout == 2.5
    with pytest.raises(CommandError, match=r"missing\.conf cannot be read"):
        config(tmp_path, "--conf", str(tmp_path / "missing.conf"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bogus = 1\n", "line 1: unknown option 'bogus'"),
        ("help = 1\n", "line 1: unknown option 'help'"),
        ("[signet]\n", "line 1: unknown section '[signet]'"),
        ("cache-mb = 1\n\ncache-mb = 2\n", "line 3: cache-mb: set twice"),
        ("[regtest]\ncache-mb = lots\n", "line 2: cache-mb: invalid value 'lots'"),
        ("log-format = xml\n", "line 1: log-format: 'xml' is not one of auto, console, json"),
        ("no-listen = maybe\n", "line 1: no-listen: expected 1 or 0, got 'maybe'"),
        ("peer = 1.2.3.4:1\npeer = 1.2.3.4:x\n", "bad port"),
        ("datadir = /elsewhere\n", "line 1: datadir cannot be set in a configuration file"),
        ("network = main\n", "line 1: network cannot be set in a configuration file"),
        ("max-inbound = 5000\n", "--max-inbound must be between 0 and 1000"),
        ("whitelist = 10.0.0.1/8\n", "--whitelist: '10.0.0.1/8' is not an IP address or subnet"),
    ],
)
def test_bad_files_stop_the_node_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    write_conf(tmp_path, text)
    argv = ["node", "--network", "regtest", "--datadir", str(tmp_path)]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err, err
    assert len(err.splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seedchain.conf"]  # nothing started


def test_oversized_and_binary_files(tmp_path: Path) -> None:
    path = write_conf(tmp_path, "# padding\n" * (MAX_CONF_BYTES // 10 + 1))
    with pytest.raises(CommandError, match=f"larger than {MAX_CONF_BYTES} bytes"):
        config(tmp_path)
    path.write_bytes(b"cache-mb = \xff\n")
    with pytest.raises(CommandError, match="not UTF-8"):
        config(tmp_path)


def test_bad_numbers_in_the_environment_are_one_line_usage_errors(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SEEDCHAIN_CACHE_MB", "abc")
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["node", "--network", "regtest"])
    assert exit_info.value.code == 2
    assert "argument --cache-mb: invalid int value: 'abc'" in capsys.readouterr().err


def test_the_pool_reads_pool_conf_in_its_datadir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    operator = Key.from_index(1).address()
    (tmp_path / "pool.conf").write_text(
        f"node = http://127.0.0.1:28732\noperator = {operator}\nfee = 1.5\n"
        "[regtest]\nscheme = solo\nno-vardiff = 1\nshare-interval = 5\nprune-shares = 20\n"
    )
    argv = ["pool", "--network", "regtest", "--datadir", str(tmp_path)]
    monkeypatch.setenv("SEEDCHAIN_POOL_FEE", "2")
    cfg = build_pool_config(parse_args([*argv, "--share-interval", "7"]))
    assert (cfg.node_url, cfg.operator, cfg.scheme) == ("http://127.0.0.1:28732", operator, "solo")
    assert cfg.fee_ppm == 20_000  # the environment's 2%, not the file's 1.5%
    assert not cfg.stratum.vardiff.enabled
    assert cfg.stratum.vardiff.target_interval == 7.0  # the command line's
    assert cfg.prune_shares == 20
    (tmp_path / "pool.conf").write_text("scheme = pps\n")
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    expected = f"{tmp_path / 'pool.conf'} line 1: scheme: 'pps' is not one of pplns, prop, solo"
    assert err == "error: " + expected


def test_prune_sizes(tmp_path: Path) -> None:
    assert config(tmp_path, "--prune", "1").prune_bytes == 1024 * 1024  # regtest: any size
    assert config(tmp_path).prune_bytes == 0
    argv = ["node", "--network", "main", "--datadir", str(tmp_path)]
    assert build_config(parse_args([*argv, "--prune", "550"])).prune_bytes == 550 * 1024 * 1024
    with pytest.raises(CommandError, match=r"--prune must be 0 \(off\) or at least 550 MiB"):
        build_config(parse_args([*argv, "--prune", "100"]))


def test_mempool_and_advertise_options(tmp_path: Path) -> None:
    cfg = config(tmp_path, "--min-relay-fee", "5", "--mempool-expiry", "24",
                 "--advertise", "203.0.113.7:8433")  # fmt: skip
    assert (cfg.min_relay_fee_rate, cfg.mempool_expiry_hours) == (5, 24)
    assert cfg.advertise == "203.0.113.7:8433"
    with pytest.raises(CommandError, match="--advertise: bad address"):
        config(tmp_path, "--advertise", "203.0.113.7")
    with pytest.raises(CommandError, match="--mempool-expiry must be between"):
        config(tmp_path, "--mempool-expiry", "0")


def test_upload_target_option(tmp_path: Path) -> None:
    assert config(tmp_path).max_upload_target == 0
    assert config(tmp_path, "--max-upload-target", "500").max_upload_target == 500 * 1024 * 1024
    write_conf(tmp_path, "max-upload-target = 144\n")
    assert config(tmp_path).max_upload_target == 144 * 1024 * 1024
    with pytest.raises(CommandError, match="--max-upload-target must be >= 0"):
        config(tmp_path, "--max-upload-target", "-1")


def test_block_template_options(tmp_path: Path) -> None:
    from consensus.block import HEADER_SIZE
    from node.template import COINBASE_RESERVE, MIN_BLOCK_SIZE

    cfg = config(tmp_path, "--block-max-size", "300000", "--block-min-fee", "3")
    assert (cfg.block_max_size, cfg.block_min_fee_rate) == (300_000, 3)
    policy = cfg.template_policy
    assert policy.tx_bytes(cfg.params) == 300_000 - HEADER_SIZE - COINBASE_RESERVE
    assert config(tmp_path).template_policy.tx_bytes(cfg.params) == (
        cfg.params.max_block_size - HEADER_SIZE - COINBASE_RESERVE
    )
    for bad in (str(MIN_BLOCK_SIZE - 1), str(cfg.params.max_block_size + 1)):
        with pytest.raises(CommandError, match="--block-max-size must be 0"):
            config(tmp_path, "--block-max-size", bad)
    with pytest.raises(CommandError, match="--block-min-fee must be >= 0"):
        config(tmp_path, "--block-min-fee", "-1")
