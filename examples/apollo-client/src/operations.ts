// The operations this example sends. `npm run codegen` turns them into the types in
// src/__generated__/types.ts (plugins: typescript + typescript-operations).
import { gql } from "@apollo/client";

export const MEETING_FIELDS = gql`
  fragment MeetingFields on Meeting {
    id
    version
    status
    startsAt
    endsAt
    awaitingResponseFrom
    availableActions
    user {
      displayName
    }
    service {
      title
    }
  }
`;

export const UPCOMING_MEETINGS = gql`
  query UpcomingMeetings($first: Int!, $after: String) {
    viewer {
      account {
        displayName
      }
    }
    meetings(role: EXPERT, upcoming: true, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        cursor
        node {
          ...MeetingFields
        }
      }
    }
  }
  ${MEETING_FIELDS}
`;

export const CONFIRM_MEETING = gql`
  mutation ConfirmMeeting($input: MeetingRefInput!) {
    confirmMeeting(input: $input) {
      meeting {
        ...MeetingFields
      }
      errors {
        code
        message
        field
      }
      warnings {
        code
        message
        conflictingMeetings {
          id
          startsAt
        }
      }
    }
  }
  ${MEETING_FIELDS}
`;

export const MEETING_CHANGED = gql`
  subscription MeetingChanged($meetingId: ID) {
    meetingChanged(meetingId: $meetingId) {
      meeting {
        ...MeetingFields
      }
      event {
        kind
        label
        at
        actor
      }
    }
  }
  ${MEETING_FIELDS}
`;
