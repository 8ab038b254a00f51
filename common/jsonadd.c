/* jsonadd: checked JSON building (see jsonadd.h). Convention: 0 or -ENOMEM. */
#include <errno.h>

#include "jsonadd.h"

int jsonadd_value(struct json_object *o, const char *key, struct json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

int jsonadd_str(struct json_object *o, const char *key, const char *s)
{
	return jsonadd_value(o, key, json_object_new_string(s));
}

int jsonadd_i64(struct json_object *o, const char *key, int64_t n)
{
	return jsonadd_value(o, key, json_object_new_int64(n));
}

int jsonadd_u64(struct json_object *o, const char *key, uint64_t n)
{
	return jsonadd_value(o, key, json_object_new_uint64(n));
}

int jsonadd_bool(struct json_object *o, const char *key, bool b)
{
	return jsonadd_value(o, key, json_object_new_boolean(b));
}

int jsonadd_append(struct json_object *arr, struct json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_array_add(arr, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}
