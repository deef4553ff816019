#ifndef GSENDMAIL_CSHIM_H
#define GSENDMAIL_CSHIM_H
int cshim_placeholder(void);
#endif
