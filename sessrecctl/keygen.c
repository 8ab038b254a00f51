/* keygen: sessrecctl keygen, the daemon's initial sealing key k_0 written
 * to SealKeyFile= (root only, mode 0600) and the verification key printed
 * once, also as a QR code on a terminal (sessrecctl(1), keygen).
 * Convention: the command returns an exit status. */
#include <errno.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef SESSREC_HAVE_QRENCODE
#include <qrencode.h>
#endif

#include "chkseal.h"
#include "config.h"
#include "ctl.h"
#include "io.h"

static const char keygen_usage[] =
	"Usage: sessrecctl keygen [OPTIONS]\n"
	"\n"
	"Makes the sealing key sessrecd seals checkpoints with (root only): the file\n"
	"SealKeyFile= (mode 0600), taken by a running daemon within a second.\n"
	"Prints the verification key once: keep it off this machine; sessrecctl\n"
	"verify --key needs it. On a terminal it is also shown as a QR code.\n"
	"\n"
	"Options:\n"
	"  --epoch SEC          the key changes every SEC seconds (default\n"
	"                       SealEpochSec= of the configuration, 900)\n"
	"  --key-file PATH      where (default SealKeyFile= of the configuration)\n"
	"  --force              replace an existing key (its seals still verify\n"
	"                       with its own verification key)\n"
	"  -h, --help           this help\n";

#ifdef SESSREC_HAVE_QRENCODE
/* Two rows of modules per text line with half blocks, a quiet zone of 2. */
static void print_qr(const char *text)
{
	QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_L, QR_MODE_8, 1);
	int w;

	if (!q)
		return;
	w = q->width;
	for (int y = -2; y < w + 2; y += 2) {
		for (int x = -2; x < w + 2; x++) {
			bool top = y >= 0 && y < w && x >= 0 && x < w && (q->data[y * w + x] & 1);
			bool bot = y + 1 >= 0 && y + 1 < w && x >= 0 && x < w && (q->data[(y + 1) * w + x] & 1);

			/* dark modules as spaces on a light block: readable on dark terminals */
			fputs(top && bot ? " " : top ? "\u2584" : bot ? "\u2580" : "\u2588", stdout);
		}
		fputs("\n", stdout);
	}
	QRcode_free(q);
}
#endif

int ctl_cmd_keygen(struct ctl *ctl, int argc, char **argv)
{
	enum { OPT_EPOCH = CTL_OPT_LOCAL, OPT_FILE, OPT_FORCE };
	static const struct option longopts[] = {
		CTL_COMMON_OPTIONS,
		{ "epoch", required_argument, NULL, OPT_EPOCH },
		{ "key-file", required_argument, NULL, OPT_FILE },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ NULL, 0, NULL, 0 },
	};
	struct sessrec_config cfg;
	char err[512] = "", vkey[CHK_KEY_TEXT_MAX], dir[4096];
	const char *path = NULL;
	unsigned long epoch = 0;
	bool force = false;
	struct chk_key k;
	char *end;
	int c, r;

	while ((c = ctl_getopt("keygen", argc, argv, "h", longopts)) != -1) {
		switch (c) {
		case 'h':
			return ctl_help(keygen_usage);
		case OPT_EPOCH:
			errno = 0;
			epoch = strtoul(optarg, &end, 10);
			if (errno || *end || epoch < 10 || epoch > 604800)
				return ctl_usage_err("keygen", "--epoch takes seconds from 10 to 604800");
			break;
		case OPT_FILE:
			path = optarg;
			break;
		case OPT_FORCE:
			force = true;
			break;
		case '?':
			return CTL_EXIT_USAGE;
		default:
			if (ctl_common_opt(ctl, c, optarg))
				return CTL_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return ctl_usage_err("keygen", "unexpected argument '%s'", argv[optind]);
	if (geteuid() != 0) {
		ctl_err("keygen: only root makes the sealing key");
		return CTL_EXIT_ERROR;
	}
	config_defaults(&cfg);
	if (config_load(&cfg, ctl->config ? ctl->config : CONFIG_DEFAULT_PATH, !ctl->config, err, sizeof(err)) < 0) {
		ctl_err("%s", err);
		return CTL_EXIT_ERROR;
	}
	if (!path)
		path = cfg.seal_key;
	if (!epoch)
		epoch = cfg.seal_epoch;
	if (chk_init() < 0) {
		ctl_err("libsodium cannot start");
		return CTL_EXIT_ERROR;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	if ((r = io_mkdir_p(dirname(dir), 0700)) < 0) {
		ctl_err("%s: %s", dir, strerror(-r));
		return CTL_EXIT_ERROR;
	}
	if (force && unlink(path) < 0 && errno != ENOENT) {
		ctl_err("%s: %s", path, strerror(errno));
		return CTL_EXIT_ERROR;
	}
	randombytes_buf(k.k, sizeof(k.k));
	k.epoch = 0;
	k.start = (int64_t)time(NULL);
	k.len = (uint32_t)epoch;
	if ((r = chk_key_save(path, &k, true)) < 0) {
		ctl_err("%s: %s%s", path, strerror(-r), r == -EEXIST ? " (a key exists: --force replaces it)" : "");
		sodium_memzero(&k, sizeof(k));
		return CTL_EXIT_ERROR;
	}
	r = chk_vkey_format(vkey, sizeof(vkey), &k);
	sodium_memzero(&k, sizeof(k));
	if (r < 0)
		return CTL_EXIT_ERROR;
	printf("The sealing key is in %s (mode 0600); sessrecd takes it within a second.\n"
	       "It changes every %lu s, and each old key is erased: someone who takes the\n"
	       "file later cannot make seals for earlier times.\n\n"
	       "The verification key, shown only now. Keep it off this machine:\n\n"
	       "    %s\n\n"
	       "Check recordings with it: sessrecctl verify --key FILE --all\n",
	       path, epoch, vkey);
#ifdef SESSREC_HAVE_QRENCODE
	if (isatty(STDOUT_FILENO)) {
		printf("\nThe same as a QR code:\n\n");
		print_qr(vkey);
	}
#endif
	sodium_memzero(vkey, sizeof(vkey));
	return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_ERROR;
}
