/* jsonadd: building JSON with every allocation checked (sessrecd's replies,
 * state files, handoff and keeper messages; the clients' requests): a
 * failed json_object_new_* gives -ENOMEM, never a NULL member, so each
 * builder has one error path. Convention: 0 or -ENOMEM. */
#pragma once
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

/* Adds v (a fresh json_object_new_* result, NULL when that failed) to o
 * under key; v is o's afterwards, or put when it could not be added. */
int jsonadd_value(struct json_object *o, const char *key, struct json_object *v);

int jsonadd_str(struct json_object *o, const char *key, const char *s);
int jsonadd_i64(struct json_object *o, const char *key, int64_t n);
int jsonadd_u64(struct json_object *o, const char *key, uint64_t n);
int jsonadd_bool(struct json_object *o, const char *key, bool b);

/* Appends v (as jsonadd_value) to the array arr. */
int jsonadd_append(struct json_object *arr, struct json_object *v);
