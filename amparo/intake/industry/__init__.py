"""The industry API (`/api/industry/v1/`): organisations report apparent OCSEA, receive preservation
requests and takedown notices, and download the national URL block list, each with a scoped API key."""
