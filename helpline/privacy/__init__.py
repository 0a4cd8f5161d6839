"""Customer-data erasure (GDPR art. 17) and retention: what is removed, what is kept for the KPIs.

``anonymise`` holds the rules shared by both, ``erasure`` erases one customer on request, ``retention``
expires old transcripts, recordings and audit entries, ``recordings`` finds and deletes call recordings.
"""
