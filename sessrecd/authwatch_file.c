/* authwatch_file: the auth file of the day (see authwatch_file.h).
 * Convention: 0 or -errno. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authrec.h"
#include "authwatch_file.h"
#include "daemon.h"
#include "log.h"
#include "shardfile.h"
#include "writer.h"

void authwatch_file_init(struct authwatch_file *f)
{
	f->fd = -1;
	f->path[0] = '\0';
}

void authwatch_file_close(struct daemon *d, struct authwatch_file *f)
{
	if (f->fd < 0)
		return;
	if (!d->writer || !writer_close_fd(d->writer, f->fd))
		close(f->fd);
	f->fd = -1;
	f->path[0] = '\0';
}

/* Whether the open file is still the one at its path. */
static bool same_file(const struct authwatch_file *f)
{
	struct stat a, b;

	return fstat(f->fd, &a) == 0 && stat(f->path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int authwatch_file_put(struct daemon *d, struct authwatch_file *f, int64_t sec, const char *line, size_t len)
{
	char path[sizeof(f->path)];
	bool created = false;
	int r;

	if ((r = authrec_path(path, sizeof(path), d->cfg.shard_dir, sec)) < 0)
		return r;
	if (f->fd >= 0 && (strcmp(path, f->path) != 0 || !same_file(f)))
		authwatch_file_close(d, f);
	if (f->fd < 0) {
		if ((r = shardfile_open(path, &created)) < 0) {
			log_line("cannot open the auth file %s: %s; authentications go to the events only", path,
				 strerror(-r));
			return r;
		}
		f->fd = r;
		memcpy(f->path, path, sizeof(path));
	}
	/* One write per line, in order with the shards' lines, never blocking
	 * the loop; without a writer (tests), written here. */
	if (d->writer)
		return writer_line(d->writer, f->fd, 0, line, len, false) ? 0 : -ENOMEM;
	return write(f->fd, line, len) == (ssize_t)len ? 0 : -EIO;
}
