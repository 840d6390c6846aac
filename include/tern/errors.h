/*
 * tern/errors.h: the one error table.
 *
 * Every API call returns 0 (or a count) on success and a negative errno on failure.
 * The values are Linux's, whatever the host, so a -111 from tern always means
 * ECONNREFUSED. Names and messages come from the same table (src/core/errors.c);
 * messages read as glibc's strerror() does on Linux.
 */
#ifndef TERN_ERRORS_H
#define TERN_ERRORS_H

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, linux value, message). The errno values are those of Linux/x86_64. */
#define TERN_ERRNO_TABLE(X) \
	X(EPERM,           1, "Operation not permitted") \
	X(ENOENT,          2, "No such file or directory") \
	X(EINTR,           4, "Interrupted system call") \
	X(EIO,             5, "Input/output error") \
	X(EBADF,           9, "Bad file descriptor") \
	X(EAGAIN,         11, "Resource temporarily unavailable") \
	X(ENOMEM,         12, "Cannot allocate memory") \
	X(EACCES,         13, "Permission denied") \
	X(EFAULT,         14, "Bad address") \
	X(EBUSY,          16, "Device or resource busy") \
	X(EEXIST,         17, "File exists") \
	X(EINVAL,         22, "Invalid argument") \
	X(ENFILE,         23, "Too many open files in system") \
	X(EMFILE,         24, "Too many open files") \
	X(ENOSPC,         28, "No space left on device") \
	X(EPIPE,          32, "Broken pipe") \
	X(ERANGE,         34, "Numerical result out of range") \
	X(ENAMETOOLONG,   36, "File name too long") \
	X(ENOSYS,         38, "Function not implemented") \
	X(ENOTSOCK,       88, "Socket operation on non-socket") \
	X(EDESTADDRREQ,   89, "Destination address required") \
	X(EMSGSIZE,       90, "Message too long") \
	X(EPROTOTYPE,     91, "Protocol wrong type for socket") \
	X(ENOPROTOOPT,    92, "Protocol not available") \
	X(EPROTONOSUPPORT, 93, "Protocol not supported") \
	X(ESOCKTNOSUPPORT, 94, "Socket type not supported") \
	X(EOPNOTSUPP,     95, "Operation not supported") \
	X(EAFNOSUPPORT,   97, "Address family not supported by protocol") \
	X(EADDRINUSE,     98, "Address already in use") \
	X(EADDRNOTAVAIL,  99, "Cannot assign requested address") \
	X(ENETDOWN,      100, "Network is down") \
	X(ENETUNREACH,   101, "Network is unreachable") \
	X(ECONNABORTED,  103, "Software caused connection abort") \
	X(ECONNRESET,    104, "Connection reset by peer") \
	X(ENOBUFS,       105, "No buffer space available") \
	X(EISCONN,       106, "Transport endpoint is already connected") \
	X(ENOTCONN,      107, "Transport endpoint is not connected") \
	X(ESHUTDOWN,     108, "Cannot send after transport endpoint shutdown") \
	X(ETIMEDOUT,     110, "Connection timed out") \
	X(ECONNREFUSED,  111, "Connection refused") \
	X(EHOSTDOWN,     112, "Host is down") \
	X(EHOSTUNREACH,  113, "No route to host") \
	X(EALREADY,      114, "Operation already in progress") \
	X(EINPROGRESS,   115, "Operation now in progress")

enum tern_errno {
#define TERN_ERRNO_ENUM(name, value, msg) TERN_##name = value,
	TERN_ERRNO_TABLE(TERN_ERRNO_ENUM)
#undef TERN_ERRNO_ENUM
	TERN_EWOULDBLOCK = TERN_EAGAIN
};

/* Message for an error; accepts the value negated or not ("Success" for 0,
 * "Unknown error" for a value outside the table: the strings are constant, so the
 * number is not spliced in). Never NULL. */
const char *tern_strerror(int err);

/* Symbolic name ("ECONNREFUSED"); NULL for a value outside the table. */
const char *tern_errname(int err);

/* The value for a symbolic name, positive; 0 if the name is unknown. */
int tern_errno_from_name(const char *name);

#ifdef __cplusplus
}
#endif
#endif
