# Refresh the dynamic linker cache for libplinth.so (rpm post-install and post-uninstall).
/sbin/ldconfig
